pub fn new_platform(_m: i32) -> crate::Result<std::sync::Arc<dyn crate::Platform>> { Err(crate::PlatformError::Unsupported("todo".into())) }
