# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_gmsa_keytab_global_optspecs
    string join \n log-level= h/help V/version
end

function __fish_gmsa_keytab_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_gmsa_keytab_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_gmsa_keytab_using_subcommand
    set -l cmd (__fish_gmsa_keytab_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -l log-level -d 'Log verbosity: error, warn, notice, info or debug. Overrides RUST_LOG' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -s V -l version -d 'Print version'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -f -a "derive" -d 'Derive keys from a managed-password blob you already have and merge them into a keytab'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -f -a "sync" -d 'Read each configured gMSA\'s password from a domain controller and update its keytab'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -f -a "status" -d 'Show each account\'s keytab kvnos, last success, next planned query and last error'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -f -a "show" -d 'List a keytab\'s entries: principal, name type, kvno, enctype, timestamp. Never keys'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -f -a "check-config" -d 'Validate a configuration file without touching the network, and print it resolved'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -f -a "doctor" -d 'Check everything a sync needs, in order, and print each problem with its fix'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l blob -d 'The msDS-ManagedPassword value: raw bytes, or the base64 text ldapsearch prints (bare or as an LDIF line). `-` reads standard input' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l account -d 'The gMSA\'s sAMAccountName, e.g. \'svc_web$\' (the salt is built from it); the trailing $ may be left out, as everywhere' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l realm -d 'The AD realm (the DNS domain, upper-cased in principals), e.g. EXAMPLE.TEST' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l kvno -d 'The account\'s msDS-KeyVersionNumber: kvno of the current password' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l keytab -d 'The keytab to create or update' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l enctypes -d 'Enctypes to write (comma-separated): aes256, aes128, rc4, des-cbc-md5, des-cbc-crc. DES is written only when listed here. Default: what the account supports, minus DES' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l supported-enctypes -d 'The account\'s msDS-SupportedEncryptionTypes (e.g. 0x1c). AES256 and AES128 are always written; RC4 when bit 0x4 is set or the value is absent or 0' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l principal -d 'An SPN to write keys for as well (repeatable), e.g. HTTP/web.example.test. The realm is appended when absent' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l owner -d 'Owner of the keytab (name or uid). Default: keep the existing owner' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l group -d 'Group of the keytab (name or gid). Default: keep the existing group' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l mode -d 'Mode of the keytab, octal: 0400, 0440, 0600 or 0640 (read for owner and group, write only for the owner; everything else is refused)' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l log-level -d 'Log verbosity: error, warn, notice, info or debug. Overrides RUST_LOG' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -l lenient -d 'Accept passwords of a length other than the 256 bytes DCs generate'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand derive" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l config -d 'The configuration file. The remaining options belong to the ad-hoc form (--account --keytab) and are a usage error without it' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l linger -d 'After the run, stay while the next planned query or retry of an account falls within MINUTES of the start, run it then, and repeat; exit when nothing is due within them. The shipped unit passes 130 (the timer\'s longest gap between ticks plus a margin), so the read in the last five minutes of an epoch happens whatever the timer\'s phase. Ignored when systemd started the run without a timer ($INVOCATION_ID set, $TRIGGER_UNIT unset), so `systemctl start` returns after one pass' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l account -d 'Ad-hoc form, no configuration file: the gMSA\'s sAMAccountName (e.g. \'svc_web$\')' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l keytab -d 'Ad-hoc form: the keytab to write' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l server -d 'A domain controller to use (repeatable, tried in order). Default: DNS SRV discovery' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l realm -d 'The realm. Default: from the directory' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l domain -d 'The DNS domain for SRV discovery. Default: the client principal\'s realm' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l site -d 'AD site for SRV discovery' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l client-keytab -d 'The host keytab to authenticate with' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l client-principal -d 'The client principal. Default: the NAME$@REALM entry of the client keytab' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l protection -d 'seal (SASL confidentiality, 389), ldaps (636) or starttls' -r -f -a "seal\t''
ldaps\t''
starttls\t''"
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l ca-file -d 'CA certificates for ldaps/starttls' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l timeout-seconds -d 'Per-attempt and per-operation timeout' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l enctypes -d 'Enctypes to write (comma-separated). Default: what the account supports, minus DES' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l spn -d 'SPNs to write (repeatable). Default: every servicePrincipalName of the account' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l owner -d 'Owner of the keytab (name or uid). Default: keep the existing owner' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l group -d 'Group of the keytab (name or gid). Default: keep the existing group' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l mode -d 'Mode of the keytab, octal: 0400, 0440, 0600 or 0640 (read for owner and group, write only for the owner; everything else is refused)' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l log-level -d 'Log verbosity: error, warn, notice, info or debug. Overrides RUST_LOG' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l force -d 'Query the directory for every account now, whatever the schedule says'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -l no-salt-probe -d 'Do not ask the KDC for the account\'s salt; derive AES keys with the salt computed from its name. The KDC\'s ticket still checks the keys (config: salt-probe = false)'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand status" -l config -d 'The configuration file' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand status" -l log-level -d 'Log verbosity: error, warn, notice, info or debug. Overrides RUST_LOG' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand status" -l json -d 'One JSON object instead of text'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand show" -l log-level -d 'Log verbosity: error, warn, notice, info or debug. Overrides RUST_LOG' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand show" -l json -d 'One JSON array of entries instead of text lines'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand show" -s h -l help -d 'Print help'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand check-config" -l unit-dir -d 'Read gmsa-keytab.service and its drop-ins from DIR (DIR/gmsa-keytab.service.d/*.conf) instead of asking systemd or searching the unit directories' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand check-config" -l log-level -d 'Log verbosity: error, warn, notice, info or debug. Overrides RUST_LOG' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand check-config" -s h -l help -d 'Print help'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand doctor" -l config -d 'The configuration file' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand doctor" -l account -d 'Check only this account (its sAMAccountName; the trailing $ may be left out)' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand doctor" -l unit-dir -d 'Read gmsa-keytab.service and its drop-ins (DIR/gmsa-keytab.service.d/*.conf) from DIR instead of asking systemd or searching the unit directories' -r -F
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand doctor" -l log-level -d 'Log verbosity: error, warn, notice, info or debug. Overrides RUST_LOG' -r
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand doctor" -l json -d 'One JSON document instead of text'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand help; and not __fish_seen_subcommand_from derive sync status show check-config doctor help" -f -a "derive" -d 'Derive keys from a managed-password blob you already have and merge them into a keytab'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand help; and not __fish_seen_subcommand_from derive sync status show check-config doctor help" -f -a "sync" -d 'Read each configured gMSA\'s password from a domain controller and update its keytab'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand help; and not __fish_seen_subcommand_from derive sync status show check-config doctor help" -f -a "status" -d 'Show each account\'s keytab kvnos, last success, next planned query and last error'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand help; and not __fish_seen_subcommand_from derive sync status show check-config doctor help" -f -a "show" -d 'List a keytab\'s entries: principal, name type, kvno, enctype, timestamp. Never keys'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand help; and not __fish_seen_subcommand_from derive sync status show check-config doctor help" -f -a "check-config" -d 'Validate a configuration file without touching the network, and print it resolved'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand help; and not __fish_seen_subcommand_from derive sync status show check-config doctor help" -f -a "doctor" -d 'Check everything a sync needs, in order, and print each problem with its fix'
complete -c gmsa-keytab -n "__fish_gmsa_keytab_using_subcommand help; and not __fish_seen_subcommand_from derive sync status show check-config doctor help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
