//! The one error type of the kernel core.
//!
//! Kernels and parameter validation return [`Error`]; the binding layer turns
//! it into the matching Python exception (see `py::mod`). Messages are whole
//! sentences that name the argument, the value given and what is allowed.

use std::fmt;

/// What went wrong, and which Python exception class it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A shape or parameter problem: `ValueError`.
    Value(String),
    /// A dtype problem: `TypeError`.
    Type(String),
    /// An allocation that cannot succeed: `MemoryError`.
    Memory(String),
}

/// Result alias used by every kernel and validator.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A `ValueError` with the given sentence.
    pub fn value(msg: impl Into<String>) -> Self {
        Error::Value(msg.into())
    }

    /// A `TypeError` with the given sentence.
    pub fn type_error(msg: impl Into<String>) -> Self {
        Error::Type(msg.into())
    }

    /// The error for a size computation that does not fit in `usize`.
    pub fn overflow(what: &str) -> Self {
        Error::Value(format!(
            "{what} is too large: the size computation overflows this platform's address space"
        ))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Value(m) | Error::Type(m) | Error::Memory(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
