//! The support report printed by `runsc syscalls`.
