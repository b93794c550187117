// A Java SPNEGO/Kerberos acceptor as Tomcat, Kafka or Hadoop run one: JAAS Krb5LoginModule logs
// in from a keytab (no KDC traffic: isInitiator=false), then a GSSContext accepts one Kerberos
// AP-REQ token. Used by tests/lab_consumers.rs; run as `java Acceptor.java KEYTAB PRINCIPAL TOKEN`
// (the JDK's single-file source launcher, no build step).
// Prints `accepted initiator=<name> acceptor=<name> session-enctype=<n>` and exits 0, or prints
// the exception and exits 1.
import com.sun.security.jgss.ExtendedGSSContext;
import com.sun.security.jgss.InquireType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivilegedExceptionAction;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.kerberos.EncryptionKey;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSCredential;
import org.ietf.jgss.GSSManager;
import org.ietf.jgss.GSSName;
import org.ietf.jgss.Oid;

public class Acceptor {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: java Acceptor.java KEYTAB PRINCIPAL TOKEN-FILE (base64 AP-REQ)");
            System.exit(2);
        }
        String keytab = args[0], principal = args[1];
        byte[] token = Base64.getMimeDecoder().decode(Files.readString(Path.of(args[2])).trim());
        // The JAAS entry a Tomcat/Kafka jaas.conf would hold, built in code.
        Map<String, String> opts = new HashMap<>();
        opts.put("useKeyTab", "true");
        opts.put("keyTab", keytab);
        opts.put("principal", principal);
        opts.put("storeKey", "true");
        opts.put("isInitiator", "false");
        opts.put("doNotPrompt", "true");
        opts.put("refreshKrb5Config", "true");
        Configuration conf = new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] {
                    new AppConfigurationEntry("com.sun.security.auth.module.Krb5LoginModule",
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, opts)
                };
            }
        };
        try {
            LoginContext lc = new LoginContext("acceptor", new Subject(), null, conf);
            lc.login();
            String out = Subject.doAs(lc.getSubject(), (PrivilegedExceptionAction<String>) () -> {
                Oid krb5 = new Oid("1.2.840.113554.1.2.2");
                GSSManager m = GSSManager.getInstance();
                GSSName me = m.createName(principal, GSSName.NT_USER_NAME);
                GSSCredential cred = m.createCredential(me, GSSCredential.INDEFINITE_LIFETIME, krb5,
                    GSSCredential.ACCEPT_ONLY);
                GSSContext ctx = m.createContext(cred);
                ctx.acceptSecContext(token, 0, token.length);
                if (!ctx.isEstablished()) {
                    throw new IllegalStateException("context not established after one token");
                }
                EncryptionKey key = (EncryptionKey) ((ExtendedGSSContext) ctx)
                    .inquireSecContext(InquireType.KRB5_GET_SESSION_KEY_EX);
                return "accepted initiator=" + ctx.getSrcName() + " acceptor=" + ctx.getTargName()
                    + " session-enctype=" + key.getKeyType();
            });
            System.out.println(out);
        } catch (Exception e) {
            Throwable t = e;
            while (t != null) {
                System.out.println("refused: " + t);
                t = t.getCause();
            }
            System.exit(1);
        }
    }
}
