//! Switch computer name: the replica takes the master's host name and the
//! master is renamed with a suffix (`-RHA` by default).

use std::io;
use std::path::PathBuf;

use super::{Executor, RedirectError, Report, Side};

/// Longest host name Linux accepts (`HOST_NAME_MAX`).
pub const MAX_HOST_NAME_LEN: usize = 64;

/// The default suffix given to the master's name.
pub const DEFAULT_SUFFIX: &str = "-RHA";

/// Sets this host's name for a switchover.
///
/// | side | `apply` sets | `undo` sets |
/// |---|---|---|
/// | [`Side::Master`] | `master_name` + suffix | `master_name` |
/// | [`Side::Replica`] | `master_name` | `replica_name` |
///
/// The name is set in the caller's UTS namespace with `sethostname(2)`
/// (needs `CAP_SYS_ADMIN`), and, when [`persist_to`](Self::persist_to) names
/// a file (usually `/etc/hostname`), written there too so it survives a
/// reboot. Setting the name the host already has is reported as
/// [`Outcome::AlreadyDone`](super::Outcome::AlreadyDone).
#[derive(Debug, Clone)]
pub struct SwitchName {
    side: Side,
    master_name: String,
    replica_name: String,
    suffix: String,
    persist: Option<PathBuf>,
}

impl SwitchName {
    /// A name switch acting on `side`, with the default suffix `-RHA`.
    pub fn new(
        side: Side,
        master_name: impl Into<String>,
        replica_name: impl Into<String>,
    ) -> Self {
        Self {
            side,
            master_name: master_name.into(),
            replica_name: replica_name.into(),
            suffix: DEFAULT_SUFFIX.to_owned(),
            persist: None,
        }
    }

    /// Sets the suffix given to the master's name.
    #[must_use]
    pub fn suffix(mut self, suffix: impl Into<String>) -> Self {
        self.suffix = suffix.into();
        self
    }

    /// Also writes each name set to this file (one line).
    #[must_use]
    pub fn persist_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.persist = Some(path.into());
        self
    }

    /// The name `apply` (or, with `undo` true, `undo`) gives this host.
    pub fn target(&self, undo: bool) -> String {
        match (self.side, undo) {
            (Side::Master, false) => format!("{}{}", self.master_name, self.suffix),
            (Side::Master, true) | (Side::Replica, false) => self.master_name.clone(),
            (Side::Replica, true) => self.replica_name.clone(),
        }
    }

    fn set(&self, name: String) -> Result<Report, RedirectError> {
        if let Err(reason) = check_host_name(&name) {
            return Err(RedirectError::InvalidParameters {
                step: format!("host name {name:?}"),
                reason,
            });
        }
        let current = host_name().map_err(|source| RedirectError::HostName {
            action: "read",
            name: name.clone(),
            source,
        })?;
        if current != name {
            set_host_name(&name).map_err(|source| RedirectError::HostName {
                action: "set",
                name: name.clone(),
                source,
            })?;
        }
        let mut persisted = false;
        if let Some(path) = &self.persist {
            let saved = std::fs::read_to_string(path).unwrap_or_default();
            if saved.trim_end() != name {
                write_name_file(path, &name).map_err(|source| RedirectError::HostNameFile {
                    path: path.clone(),
                    name: name.clone(),
                    source,
                })?;
                persisted = true;
            }
        }
        if current == name && !persisted {
            Ok(Report::already(format!(
                "the host is already named {name:?}"
            )))
        } else {
            Ok(Report::changed(format!(
                "host name set to {name:?} (was {current:?})"
            )))
        }
    }
}

impl Executor for SwitchName {
    fn describe(&self) -> String {
        format!(
            "switch name on the {}: {:?} -> {:?}",
            self.side,
            self.target(true),
            self.target(false)
        )
    }

    fn apply(&mut self) -> Result<Report, RedirectError> {
        self.set(self.target(false))
    }

    fn undo(&mut self) -> Result<Report, RedirectError> {
        self.set(self.target(true))
    }
}

/// Checks a host name: 1 to 64 bytes of letters, digits, `-` and `.`, no
/// empty label, no label longer than 63 bytes (so the name is also a
/// valid DNS name), no label starting or ending with `-`.
///
/// # Errors
///
/// Why the name is not acceptable.
pub fn check_host_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty host name");
    }
    if name.len() > MAX_HOST_NAME_LEN {
        return Err("host name longer than 64 bytes");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label in host name");
        }
        if label.len() > 63 {
            return Err("a host name label is longer than 63 bytes");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("host names hold only letters, digits, '-' and '.'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a host name label cannot start or end with '-'");
        }
    }
    Ok(())
}

/// The current host name (of the caller's UTS namespace).
///
/// # Errors
///
/// The error `gethostname(2)` reports.
pub fn host_name() -> io::Result<String> {
    let mut buf = [0u8; MAX_HOST_NAME_LEN + 1];
    // SAFETY: the pointer and length describe `buf`, which outlives the call.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
}

fn set_host_name(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, which outlive
    // the call; the kernel copies them.
    let rc = unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Replaces the file atomically: write a sibling, then rename over.
fn write_name_file(path: &std::path::Path, name: &str) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".rha-tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{name}\n"))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::check_host_name;

    /// Found by the `redirect_text` fuzz target: a 64-byte label passed,
    /// though no DNS name holds a label longer than 63 bytes.
    #[test]
    fn labels_are_at_most_63_bytes() {
        assert!(check_host_name(&"a".repeat(63)).is_ok());
        assert_eq!(
            check_host_name(&"a".repeat(64)),
            Err("a host name label is longer than 63 bytes")
        );
        assert!(check_host_name(&format!("{}.b", "a".repeat(62))).is_ok());
    }
}
