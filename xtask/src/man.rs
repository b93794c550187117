//! Man pages: gmsa-keytab(8) and one page per command (gmsa-keytab-sync(8), ...).
//!
//! clap_mangen renders what clap knows (synopsis, options, commands); the sections it cannot
//! know are added here, from the library where the facts live: EXIT STATUS from
//! `gmsa_keytab::exit::Class`, default paths from `gmsa_keytab::defaults`.

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Inline, Roff, bold, italic, roman};
use gmsa_keytab::defaults;
use gmsa_keytab::exit::Class;
use std::io;

const SECTION: &str = "8";
const MANUAL: &str = "System Administration";

const DESCRIPTION: &[&str] = &[
    "gmsa-keytab keeps Kerberos keytabs for Active Directory group Managed Service Accounts \
     (gMSA) on Linux hosts, so that the services on every member of a farm accept tickets for \
     the same service principal names.",
    "For each account in its configuration, gmsa-keytab sync authenticates to a domain \
     controller as the host's own computer account (from the host keytab, into a private \
     in-memory credential cache), reads the account's msDS-ManagedPassword over an encrypted \
     LDAP connection (SASL GSSAPI sealing by default, or LDAPS or StartTLS with channel \
     binding), derives the keys the KDC uses from the account's salt and encryption types, and \
     updates its keytab: the account principal and its SPNs, the current kvno and the previous \
     one, with the configured owner, group and mode.",
    "A keytab is never written in place. The new content goes to a temporary file in the same \
     directory, which gets its owner, group and mode before any key is written; it is synced \
     to disk and renamed over the keytab, under a lock on KEYTAB.lock. Entries of other \
     principals are kept as they are; a keytab whose content would not change is not \
     rewritten.",
    "Installed from a package, gmsa-keytab.timer runs gmsa-keytab.service, which runs \
     gmsa-keytab sync --linger 130, shortly after boot and every 2 hours (plus a fixed per-host \
     delay of up to 5 minutes); a run stays for a query due before the next tick. Secrets never \
     appear in its output, on a command line or in the environment.",
];

/// Files and directories, with what they hold.
fn files() -> Vec<(String, String)> {
    vec![
        (
            defaults::CONFIG_PATH.to_string(),
            "The configuration (TOML). gmsa-keytab check-config validates it and prints it \
             resolved, defaults included. The packaged file is a commented example."
                .to_string(),
        ),
        (
            defaults::CLIENT_KEYTAB.to_string(),
            "The host keytab (client-keytab). The host authenticates as its computer account, \
             NAME$@REALM, from it."
                .to_string(),
        ),
        (
            defaults::STATE_DIR.to_string(),
            "The state directory (state-dir): when each account next needs a DC query.".to_string(),
        ),
        (
            "KEYTAB.lock".to_string(),
            "Next to each keytab: the lock that serializes writers of that keytab.".to_string(),
        ),
        (
            "/etc/krb5.conf".to_string(),
            "MIT Kerberos configuration: realms, KDCs, DNS lookups.".to_string(),
        ),
        (
            "/usr/lib/systemd/system/gmsa-keytab.service, gmsa-keytab.timer".to_string(),
            "The systemd units. Change them with drop-ins (systemctl edit), see NOTES.".to_string(),
        ),
    ]
}

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "RUST_LOG",
        "Log level (error, warn, info or debug) when --log-level is not given.",
    ),
    (
        "KRB5_CONFIG",
        "MIT Kerberos configuration file(s), instead of /etc/krb5.conf.",
    ),
];

const NOTES: &[&str] = &[
    "gmsa-keytab.service runs with ProtectSystem=strict: the file system is read-only for it, \
     except /etc/gmsa-keytab and the state directory /var/lib/gmsa-keytab. Keytabs in other \
     directories, and the directory of metrics-file, need a drop-in (systemctl edit \
     gmsa-keytab.service) that adds them; the directories must exist:",
    "[Service]\nReadWritePaths=/etc/nginx/keytabs /var/lib/prometheus/node-exporter",
    "The on-change commands run inside the same sandbox, as root with a reduced capability \
     set. systemctl reload and systemctl restart work from there.",
];

const SEE_ALSO: &[&str] = &[
    "kinit(1)",
    "klist(1)",
    "ktutil(1)",
    "krb5.conf(5)",
    "systemctl(1)",
    "systemd.exec(5)",
    "systemd.timer(5)",
    "realm(8)",
    "adcli(8)",
];

/// `(file name, content)` of every page.
pub fn pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = gmsa_keytab::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let name = cmd.get_name().to_string();
    let subs: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let sub_refs: Vec<String> = subs
        .iter()
        .map(|s| format!("{name}-{}({SECTION})", s.get_name()))
        .collect();

    let mut pages = Vec::new();
    let main = cmd.clone().long_about(DESCRIPTION.join("\n\n"));
    pages.push((format!("{name}.{SECTION}"), main_page(main, &sub_refs)?));
    for sub in subs {
        let file = format!("{name}-{}.{SECTION}", sub.get_name());
        pages.push((file, sub_page(sub, &name)?));
    }
    Ok(pages)
}

fn man(cmd: clap::Command) -> Man {
    Man::new(cmd).section(SECTION).manual(MANUAL)
}

fn main_page(cmd: clap::Command, sub_refs: &[String]) -> io::Result<Vec<u8>> {
    let man = man(cmd);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;

    let mut roff = Roff::default();
    roff.control("SH", ["FILES"]);
    for (path, what) in files() {
        roff.control("TP", []);
        roff.text([italic(path)]);
        roff.text([roman(what)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (var, what) in ENVIRONMENT {
        roff.control("TP", []);
        roff.text([bold(*var)]);
        roff.text([roman(*what)]);
    }
    exit_status(&mut roff);
    roff.control("SH", ["NOTES"]);
    for (i, para) in NOTES.iter().enumerate() {
        if i > 0 {
            roff.control("PP", []);
        }
        if para.contains('\n') {
            // A literal block: a drop-in file.
            roff.control("RS", ["4"]);
            roff.control("nf", []);
            for line in para.lines() {
                roff.text([roman(line)]);
            }
            roff.control("fi", []);
            roff.control("RE", []);
        } else {
            roff.text([roman(*para)]);
        }
    }
    let mut see_also: Vec<&str> = sub_refs.iter().map(String::as_str).collect();
    see_also.extend_from_slice(SEE_ALSO);
    see_also_section(&mut roff, &see_also);
    roff.to_writer(&mut out)?;

    man.render_version_section(&mut out)?;
    Ok(out)
}

fn sub_page(cmd: clap::Command, parent: &str) -> io::Result<Vec<u8>> {
    let man = man(cmd);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut roff = Roff::default();
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(format!(
        "0 on success; otherwise one of the codes listed in {parent}({SECTION})."
    ))]);
    see_also_section(&mut roff, &[&format!("{parent}({SECTION})")]);
    roff.to_writer(&mut out)?;
    // No VERSION section: a command has no version of its own (clap_mangen would panic).
    Ok(out)
}

/// EXIT STATUS, from the exit classes, by code.
fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    let mut rows: Vec<(u8, &str)> = vec![(0, "success")];
    rows.extend(Class::ALL.iter().map(|c| (c.code(), c.description())));
    rows.sort_by_key(|r| r.0);
    for (code, what) in rows {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(what)]);
    }
}

fn see_also_section(roff: &mut Roff, refs: &[&str]) {
    roff.control("SH", ["SEE ALSO"]);
    let mut line: Vec<Inline> = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        // name(section): the name in bold, as man-pages(7) asks.
        match r.split_once('(') {
            Some((page, sect)) => {
                line.push(bold(page.to_string()));
                line.push(roman(format!("({sect}")));
            }
            None => line.push(roman(r.to_string())),
        }
    }
    roff.text(line);
}
