#!/usr/bin/python3
"""python-gssapi (Debian's python3-gssapi, on MIT krb5) as initiator and as acceptor.

Used by tests/lab_consumers.rs:
  gss.py initiate SPN TOKEN-FILE
      From the ccache in KRB5CCNAME, asks the KDC for a ticket to SPN (a Kerberos principal
      name such as HTTP/aes.example.test or svc_aes$) and writes the AP-REQ token, base64.
  gss.py accept KEYTAB PRINCIPAL TOKEN-FILE
      Accepts the token with the keys of PRINCIPAL from KEYTAB (no KDC traffic).
      Prints `accepted initiator=<name> acceptor=<name>`, exit 0; or `refused: <error>`, exit 1.
"""
import base64
import sys

import gssapi

KRB5 = gssapi.MechType.kerberos


def initiate(spn, token_file):
    name = gssapi.Name(spn, gssapi.NameType.kerberos_principal)
    ctx = gssapi.SecurityContext(name=name, mech=KRB5, usage="initiate",
                                 flags=gssapi.RequirementFlag.mutual_authentication)
    token = ctx.step()
    with open(token_file, "w") as f:
        f.write(base64.b64encode(token).decode() + "\n")


def accept(keytab, principal, token_file):
    with open(token_file) as f:
        token = base64.b64decode(f.read().strip())
    name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
    try:
        # The credential-store extension: the keytab comes from the argument, not KRB5_KTNAME.
        creds = gssapi.Credentials(name=name, usage="accept", mechs=[KRB5],
                                   store={"keytab": keytab})
        ctx = gssapi.SecurityContext(creds=creds, usage="accept")
        ctx.step(token)
        if not ctx.complete:
            raise RuntimeError("context not established after one token")
        print(f"accepted initiator={ctx.initiator_name} acceptor={ctx.target_name}")
    except gssapi.exceptions.GSSError as e:
        print(f"refused: {e}")
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "initiate":
        initiate(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "accept":
        accept(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
