//! A password rotation under the REAL shipped timer and service, several simulated hosts in a
//! private systemd, the lab DC and clients on a shifted clock: 0 rejected service tickets from
//! before until after the epoch end. The work is in tests/lab/timer-rotation.sh (about 7
//! minutes of real time, mostly waiting for the shifted epoch end). Needs root and a cgroup2
//! mount; run by tests/run-all.sh.

mod common;
use common::*;
use std::process::Command;

#[test]
#[ignore = "needs the Samba lab (root) and a private systemd; run by tests/run-all.sh"]
fn no_rejected_ticket_across_a_rotation_under_the_shipped_timer() {
    let status = Command::new("bash")
        .arg(root().join("tests/lab/timer-rotation.sh"))
        .arg(BIN)
        .status()
        .expect("bash");
    assert!(status.success(), "tests/lab/timer-rotation.sh: {status}");
}
