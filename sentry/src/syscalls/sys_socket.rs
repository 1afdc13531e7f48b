//! The socket calls that take a descriptor. The sandbox has no sockets yet (socket(2),
//! socketpair(2) are unsupported), so no descriptor is one: each call fails with EBADF
//! for a bad descriptor and ENOTSOCK otherwise, as Linux does for non-sockets. Programs
//! probe this: bash asks getpeername(0) whether stdin is a network connection.

use crate::task::Task;
use syscalls_table::Errno;

/// getpeername(2), getsockname(2), getsockopt(2), setsockopt(2), shutdown(2), bind(2),
/// listen(2), connect(2), accept(2), accept4(2), sendto(2), recvfrom(2), sendmsg(2),
/// recvmsg(2), sendmmsg(2), recvmmsg(2).
pub fn not_a_socket(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.fds().get(a[0] as u32 as u64)?;
    Err(Errno::ENOTSOCK)
}
