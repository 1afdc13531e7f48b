//! The sentry.
