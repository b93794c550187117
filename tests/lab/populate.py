#!/usr/bin/python3
# Helper for tests/lab/lab.sh; run it with the SYSTEM python (/usr/bin/python3), which has python3-samba.
#
#   populate.py SMB_CONF SAM_LDB bulk PREFIX COUNT TRUSTEE
#       Creates COUNT gMSAs PREFIX01$ .. PREFIXnn$ in one process and one transaction, each with one SPN
#       HTTP/<prefix-without-svc_>NN.example.test, readable by TRUSTEE, enabled. It performs, call for
#       call, what the samba-tool commands used for the named accounts do (same python code paths):
#         samba-tool service-account create --name=N --dns-host-name=N.<dnsdomain>
#           -> GroupManagedServiceAccount(name, dns_host_name).save()
#         samba-tool service-account group-msa-membership add --name=N$ --principal=TRUSTEE
#           -> GroupManagedServiceAccount.find(); add_trustee(User.get_sid_for_principal()); save()
#         samba-tool spn add SPN N$      -> modify servicePrincipalName (after a uniqueness search)
#         samba-tool user enable N$      -> SamDB.enable_account()
#       samba-tool costs ~0.3 s per call (python start-up); 50 accounts x 4 calls would be ~60 s.
#
#   populate.py SMB_CONF SAM_LDB report
#       Prints one tab-separated line per computer/gMSA account as the DC database holds it:
#       sAMAccountName, kind, userAccountControl, msDS-SupportedEncryptionTypes (or "absent"),
#       msDS-ManagedPasswordInterval, SPNs (comma-separated), password readers (sAMAccountNames from
#       msDS-GroupMSAMembership, comma-separated; "-" when not a gMSA).
import sys

import ldb
from samba.auth import system_session
from samba.dcerpc import security
from samba.domain.models import GroupManagedServiceAccount, User
from samba.ndr import ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB


def connect(smb_conf, sam_ldb):
    lp = LoadParm()
    lp.load(smb_conf)
    return SamDB(url=sam_ldb, session_info=system_session(lp), lp=lp)


def add_spn(samdb, account, spn):
    """Same checks and modify as `samba-tool spn add SPN ACCOUNT`."""
    if samdb.search(expression="servicePrincipalName=%s" % ldb.binary_encode(spn),
                    scope=ldb.SCOPE_SUBTREE, attrs=["dn"]):
        raise SystemExit(f"populate: SPN {spn} already in use")
    res = samdb.search(expression="sAMAccountName=%s" % ldb.binary_encode(account),
                       scope=ldb.SCOPE_SUBTREE, attrs=["servicePrincipalName"])
    if len(res) != 1:
        raise SystemExit(f"populate: account {account} not found")
    msg = ldb.Message()
    msg.dn = res[0].dn
    msg["servicePrincipalName"] = ldb.MessageElement([spn], ldb.FLAG_MOD_ADD, "servicePrincipalName")
    samdb.modify(msg)


def bulk(samdb, prefix, count, trustee):
    dnsdomain = samdb.domain_dns_name()
    trustee_sid = User.get_sid_for_principal(samdb, trustee)
    if trustee_sid is None:
        raise SystemExit(f"populate: trustee {trustee} not found")
    short = prefix[4:] if prefix.startswith("svc_") else prefix
    samdb.transaction_start()
    try:
        for i in range(1, count + 1):
            name = f"{prefix}{i:02d}"
            GroupManagedServiceAccount(name=name, dns_host_name=f"{name}.{dnsdomain}").save(samdb)
            gmsa = GroupManagedServiceAccount.find(samdb, name + "$")
            gmsa.add_trustee(trustee_sid)
            gmsa.save(samdb)
            add_spn(samdb, name + "$", f"HTTP/{short}{i:02d}.{dnsdomain}")
            samdb.enable_account("(sAMAccountName=%s)" % ldb.binary_encode(name + "$"))
    except BaseException:
        samdb.transaction_cancel()
        raise
    samdb.transaction_commit()


def report(samdb):
    res = samdb.search(base=samdb.domain_dn(), scope=ldb.SCOPE_SUBTREE,
                       expression="(objectClass=computer)",
                       attrs=["sAMAccountName", "objectClass", "userAccountControl",
                              "msDS-SupportedEncryptionTypes", "msDS-ManagedPasswordInterval",
                              "servicePrincipalName", "msDS-GroupMSAMembership"])
    names = {}

    def sid_name(sid):
        if sid not in names:
            r = samdb.search(base=f"<SID={sid}>", scope=ldb.SCOPE_BASE, attrs=["sAMAccountName"])
            names[sid] = str(r[0]["sAMAccountName"][0]) if r else sid
        return names[sid]

    rows = []
    for m in res:
        sam = str(m["sAMAccountName"][0])
        classes = [str(c) for c in m["objectClass"]]
        is_gmsa = "msDS-GroupManagedServiceAccount" in classes
        kind = "gmsa" if is_gmsa else "computer"
        uac = "0x%x" % int(m["userAccountControl"][0])
        set_ = ("0x%x" % int(m["msDS-SupportedEncryptionTypes"][0])
                if "msDS-SupportedEncryptionTypes" in m else "absent")
        interval = str(m["msDS-ManagedPasswordInterval"][0]) if "msDS-ManagedPasswordInterval" in m else "-"
        spns = ",".join(sorted(str(s) for s in m.get("servicePrincipalName", []))) or "-"
        readers = "-"
        if is_gmsa and "msDS-GroupMSAMembership" in m:
            sd = ndr_unpack(security.descriptor, m["msDS-GroupMSAMembership"][0])
            allowed = []
            for ace in sd.dacl.aces:
                if ace.type == security.SEC_ACE_TYPE_ACCESS_ALLOWED and \
                        ace.access_mask & security.SEC_ADS_READ_PROP:
                    allowed.append(sid_name(str(ace.trustee)))
            readers = ",".join(allowed) or "nobody"
        rows.append((sam, kind, uac, set_, interval, spns, readers))
    print("# sAMAccountName\tkind\tuserAccountControl\tmsDS-SupportedEncryptionTypes\t"
          "msDS-ManagedPasswordInterval\tservicePrincipalName\tpassword-readers")
    for row in sorted(rows):
        print("\t".join(row))


def main(argv):
    if len(argv) >= 4 and argv[3] == "bulk" and len(argv) == 7:
        bulk(connect(argv[1], argv[2]), argv[4], int(argv[5]), argv[6])
    elif len(argv) == 4 and argv[3] == "report":
        report(connect(argv[1], argv[2]))
    else:
        raise SystemExit("usage: populate.py SMB_CONF SAM_LDB {bulk PREFIX COUNT TRUSTEE | report}")


if __name__ == "__main__":
    main(sys.argv)
