//! ldap3's connection task, run so that how it ended is kept. When the connection fails (a
//! message the decoder refuses, one over the size limit, a reset), ldap3 ends this task with the
//! cause, and the request that was waiting learns only that its stream ended ("premature end of
//! search stream"). The cause is kept here so a failed request can name it.

use ldap3::LdapConnAsync;
use std::sync::{Arc, Mutex};

/// Handle on a running connection task: why it ended, once it has.
#[derive(Clone, Default)]
pub struct Driver {
    failure: Arc<Mutex<Option<String>>>,
}

/// Runs `conn` on the current runtime until the connection ends or the last `Ldap` handle is
/// dropped, keeping its error.
pub fn spawn(conn: LdapConnAsync) -> Driver {
    let driver = Driver::default();
    let slot = driver.failure.clone();
    tokio::spawn(async move {
        if let Err(e) = conn.drive().await
            && let Ok(mut failure) = slot.lock()
        {
            *failure = Some(e.to_string());
        }
    });
    driver
}

impl Driver {
    /// The error the connection task ended with, if it ended with one.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// `detail` of a failed request, with the connection's own error when it has one.
    pub fn explain(&self, detail: String) -> String {
        match self.failure() {
            Some(cause) => format!("{detail} (the connection ended: {cause})"),
            None => detail,
        }
    }
}
