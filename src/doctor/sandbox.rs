//! Which paths the service may write: the file-system settings of `gmsa-keytab.service`, from
//! its unit file and drop-ins, or from `systemctl show`. Pure: text in, answers out.

use std::path::{Path, PathBuf};

pub const SERVICE: &str = "gmsa-keytab.service";
pub const TIMER: &str = "gmsa-keytab.timer";

/// The settings that decide where the service can write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sandbox {
    /// ProtectSystem=: "" (unset), "no", "yes", "full" or "strict".
    pub protect_system: String,
    /// ProtectHome=: "" (unset), "no", "yes", "read-only" or "tmpfs".
    pub protect_home: String,
    pub private_tmp: bool,
    /// ReadWritePaths= entries, "-"/"+" prefixes removed.
    pub read_write: Vec<PathBuf>,
    /// StateDirectory= entries as /var/lib/NAME (systemd keeps them writable).
    pub state_dirs: Vec<PathBuf>,
}

fn is_true(v: &str) -> bool {
    matches!(v, "1" | "yes" | "true" | "on")
}

impl Sandbox {
    /// Applies one assignment, as systemd does: list settings accumulate, an empty value
    /// resets them, other settings take the last value.
    fn assign(&mut self, key: &str, value: &str) {
        let value = value.trim();
        match key {
            "ReadWritePaths" if value.is_empty() => self.read_write.clear(),
            "StateDirectory" if value.is_empty() => self.state_dirs.clear(),
            "ReadWritePaths" => {
                for p in value.split_whitespace() {
                    let p = p.trim_start_matches(['-', '+']);
                    if p.starts_with('/') {
                        self.read_write.push(PathBuf::from(p));
                    }
                }
            }
            "StateDirectory" => {
                for name in value.split_whitespace() {
                    let name = name.split(':').next().unwrap_or(name);
                    if !name.is_empty() && !name.starts_with('/') {
                        self.state_dirs.push(Path::new("/var/lib").join(name));
                    }
                }
            }
            "ProtectSystem" => {
                self.protect_system = if is_true(value) {
                    "yes".into()
                } else if matches!(value, "0" | "false" | "off") {
                    "no".into()
                } else {
                    value.into()
                }
            }
            "ProtectHome" => {
                self.protect_home = if is_true(value) {
                    "yes".into()
                } else if matches!(value, "0" | "false" | "off") {
                    "no".into()
                } else {
                    value.into()
                }
            }
            "PrivateTmp" => self.private_tmp = is_true(value),
            _ => {}
        }
    }

    /// Applies a unit file or drop-in: the assignments of its `[Service]` section.
    pub fn apply_unit_file(&mut self, text: &str) {
        let mut in_service = false;
        let mut pending = String::new();
        for raw in text.lines() {
            // A trailing backslash continues the line.
            if let Some(head) = raw.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            pending.push_str(raw);
            let line = std::mem::take(&mut pending);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if line.starts_with('[') {
                in_service = line == "[Service]";
                continue;
            }
            if in_service && let Some((k, v)) = line.split_once('=') {
                self.assign(k.trim(), v);
            }
        }
    }

    /// The output of `systemctl show -p ReadWritePaths -p StateDirectory -p ProtectSystem
    /// -p ProtectHome -p PrivateTmp gmsa-keytab.service` (the effective values, drop-ins
    /// included).
    pub fn from_systemctl_show(text: &str) -> Sandbox {
        let mut s = Sandbox::default();
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                s.assign(k.trim(), v);
            }
        }
        s
    }

    /// Whether the service can create files in `dir`: `Ok(why)` or `Err(why not)`.
    pub fn writable(&self, dir: &Path) -> Result<String, String> {
        if let Some(p) = self.read_write.iter().find(|p| dir.starts_with(p)) {
            return Ok(format!("inside {} (ReadWritePaths)", p.display()));
        }
        if let Some(p) = self.state_dirs.iter().find(|p| dir.starts_with(p)) {
            return Ok(format!("inside {} (StateDirectory)", p.display()));
        }
        let under = |roots: &[&'static str]| roots.iter().find(|r| dir.starts_with(r)).copied();
        if matches!(self.protect_home.as_str(), "yes" | "read-only" | "tmpfs")
            && let Some(r) = under(&["/home", "/root", "/run/user"])
        {
            return Err(format!(
                "{r} is hidden from the service (ProtectHome={})",
                self.protect_home
            ));
        }
        if self.private_tmp
            && let Some(r) = under(&["/tmp", "/var/tmp"])
        {
            return Err(format!(
                "the service has its own private {r} (PrivateTmp=yes): nothing outside it \
                 would see the files written there"
            ));
        }
        let read_only: &[&str] = match self.protect_system.as_str() {
            "strict" => &["/"],
            "full" => &["/usr", "/boot", "/efi", "/etc"],
            "yes" => &["/usr", "/boot", "/efi"],
            _ => &[],
        };
        if let Some(r) = under(read_only) {
            return Err(format!(
                "{} is read-only for the service (ProtectSystem={})",
                if r == "/" { "the whole file system" } else { r },
                self.protect_system
            ));
        }
        Ok("the service's file-system protection does not cover it".into())
    }
}

/// The drop-in that lets the service write `dirs`.
pub fn drop_in_fix(dirs: &[&Path]) -> String {
    let list: Vec<String> = dirs.iter().map(|d| format!("-{}", d.display())).collect();
    format!(
        "let the service write there: systemctl edit {SERVICE} and add\n  [Service]\n  \
         ReadWritePaths={}\n(or put those two lines in /etc/systemd/system/{SERVICE}.d/keytabs.conf \
         and run systemctl daemon-reload)",
        list.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: &str = "[Unit]\nDescription=x\nReadWritePaths=/nope\n\n[Service]\n\
        ProtectSystem=strict\nReadWritePaths=/etc/gmsa-keytab\nStateDirectory=gmsa-keytab\n\
        ProtectHome=yes\nPrivateTmp=yes\n# ReadWritePaths=/commented\n";

    #[test]
    fn unit_and_drop_ins_accumulate() {
        let mut s = Sandbox::default();
        s.apply_unit_file(UNIT);
        assert_eq!(s.protect_system, "strict");
        assert_eq!(s.read_write, [PathBuf::from("/etc/gmsa-keytab")]);
        assert_eq!(s.state_dirs, [PathBuf::from("/var/lib/gmsa-keytab")]);
        assert!(s.writable(Path::new("/etc/gmsa-keytab")).is_ok());
        assert!(s.writable(Path::new("/etc/gmsa-keytab/sub")).is_ok());
        assert!(s.writable(Path::new("/var/lib/gmsa-keytab")).is_ok());
        let e = s.writable(Path::new("/etc/nginx/keytabs")).unwrap_err();
        assert!(e.contains("ProtectSystem=strict"), "{e}");
        // a look-alike prefix is not inside
        assert!(s.writable(Path::new("/etc/gmsa-keytab2")).is_err());
        assert!(
            s.writable(Path::new("/home/web"))
                .unwrap_err()
                .contains("ProtectHome")
        );
        assert!(
            s.writable(Path::new("/tmp/k"))
                .unwrap_err()
                .contains("PrivateTmp")
        );

        s.apply_unit_file("[Service]\nReadWritePaths=-/etc/nginx/keytabs \\\n  +/srv/k\n");
        assert!(s.writable(Path::new("/etc/nginx/keytabs")).is_ok());
        assert!(s.writable(Path::new("/srv/k")).is_ok());
        // an empty assignment resets the list (the state directory stays)
        s.apply_unit_file("[Service]\nReadWritePaths=\nReadWritePaths=/srv/only\n");
        assert!(s.writable(Path::new("/etc/gmsa-keytab")).is_err());
        assert!(s.writable(Path::new("/srv/only/x")).is_ok());
        assert!(s.writable(Path::new("/var/lib/gmsa-keytab")).is_ok());
    }

    #[test]
    fn weaker_protection() {
        let mut s = Sandbox::default();
        assert!(s.writable(Path::new("/etc/x")).is_ok());
        s.apply_unit_file("[Service]\nProtectSystem=full\n");
        assert!(s.writable(Path::new("/etc/x")).is_err());
        assert!(s.writable(Path::new("/srv/x")).is_ok());
        s.apply_unit_file("[Service]\nProtectSystem=true\n");
        assert_eq!(s.protect_system, "yes");
        assert!(s.writable(Path::new("/etc/x")).is_ok());
        assert!(s.writable(Path::new("/usr/x")).is_err());
    }

    #[test]
    fn systemctl_show_output() {
        let s = Sandbox::from_systemctl_show(
            "ReadWritePaths=/etc/gmsa-keytab -/etc/nginx/keytabs\nStateDirectory=gmsa-keytab\n\
             ProtectSystem=strict\nProtectHome=yes\nPrivateTmp=yes\n",
        );
        assert!(s.writable(Path::new("/etc/nginx/keytabs")).is_ok());
        assert!(s.writable(Path::new("/etc/apache2")).is_err());
        assert!(s.private_tmp);
    }

    #[test]
    fn drop_in_text() {
        let f = drop_in_fix(&[Path::new("/etc/nginx/keytabs")]);
        assert!(
            f.contains("[Service]\n  ReadWritePaths=-/etc/nginx/keytabs\n"),
            "{f}"
        );
    }
}
