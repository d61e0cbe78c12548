package dev.handoff.tickets.cli;

import dev.handoff.tickets.IssueRequest;
import dev.handoff.tickets.KeyRing;
import dev.handoff.tickets.MemoryReplayStore;
import dev.handoff.tickets.StateMode;
import dev.handoff.tickets.TicketException;
import dev.handoff.tickets.TicketIssuer;
import dev.handoff.tickets.TicketVerifier;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.LongSupplier;

/**
 * The command-line verifier and issuer, for cross-language checks and operations:
 *
 * <pre>
 * java -jar handoff-tickets.jar verify --keys DIR|JWKS --client UUID --source ID --target ID [--max-ttl 60] [--tolerance 5] [--now SECONDS]
 * java -jar handoff-tickets.jar issue  --keys DIR|JWKS --source ID --target ID [--ttl 30] [--pool P] [--sid S] [--state-mode auto|inline] [--now SECONDS]
 * </pre>
 *
 * {@code verify} reads tickets one per line on standard input and prints one line for each: {@code OK}
 * or the error code; one replay store serves the whole run. {@code issue} reads one request per line,
 * {@code <client uuid>[ <state as base64url>]}, and prints one line for each: the ticket or the error
 * code. {@code --now} fixes the clock (seconds since the epoch), for tests. Exit status: 0 after the
 * input ends, 2 for a usage or key error (a message on standard error).
 */
public final class Main {
  private static final String USAGE = String.join("\n",
      "usage:",
      "  verify --keys <dir|jwks> --client <uuid> --source <backend id> --target <backend id> [--max-ttl 60] [--tolerance 5] [--now <seconds>]",
      "  issue  --keys <dir|jwks> --source <backend id> --target <backend id> [--ttl 30] [--pool <pool>] [--sid <session id>]",
      "         [--state-mode auto|inline] [--now <seconds>]",
      "verify reads one ticket per line on stdin and prints OK or the error code for each;",
      "issue reads '<client uuid>[ <state base64url>]' per line and prints the ticket or the error code for each.");

  private static final Set<String> VERIFY_OPTIONS = Set.of("keys", "client", "source", "target", "max-ttl", "tolerance", "now");
  private static final Set<String> ISSUE_OPTIONS = Set.of("keys", "source", "target", "ttl", "pool", "sid", "state-mode", "now");

  private Main() {}

  /** Entry point. */
  public static void main(String[] args) {
    System.exit(run(args, System.in, System.out, System.err));
  }

  /** Runs the command; returns the exit status. */
  public static int run(String[] args, InputStream in, OutputStream out, PrintStream err) {
    PrintStream stdout = new PrintStream(out, false, StandardCharsets.US_ASCII);
    try {
      if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
        stdout.println(USAGE);
        stdout.flush();
        return args.length == 0 ? 2 : 0;
      }
      String command = args[0];
      if (command.equals("verify")) return verify(options(args, VERIFY_OPTIONS), in, stdout);
      if (command.equals("issue")) return issue(options(args, ISSUE_OPTIONS), in, stdout);
      throw new UsageException("unknown command: " + command);
    } catch (UsageException e) {
      err.println("handoff-tickets: " + e.getMessage());
      err.println(USAGE);
      return 2;
    } catch (TicketException e) {
      err.println("handoff-tickets: " + e.getMessage() + " (" + e.code() + (e.reason() == null ? "" : ", " + e.reason()) + ")");
      return 2;
    } catch (IOException e) {
      err.println("handoff-tickets: cannot read standard input");
      return 2;
    } finally {
      stdout.flush();
    }
  }

  private static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  private static Map<String, String> options(String[] args, Set<String> known) throws UsageException {
    Map<String, String> out = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--")) throw new UsageException("unexpected argument: " + arg);
      String name = arg.substring(2);
      String value;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      } else {
        if (i + 1 >= args.length) throw new UsageException("--" + name + " needs a value");
        value = args[++i];
      }
      if (!known.contains(name)) throw new UsageException("unknown option --" + name);
      if (out.put(name, value) != null) throw new UsageException("--" + name + " given twice");
    }
    return out;
  }

  private static String required(Map<String, String> options, String name) throws UsageException {
    String value = options.get(name);
    if (value == null) throw new UsageException("--" + name + " is required");
    return value;
  }

  private static long number(Map<String, String> options, String name, long fallback) throws UsageException {
    String value = options.get(name);
    if (value == null) return fallback;
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " must be an integer");
    }
  }

  private static LongSupplier clock(Map<String, String> options) throws UsageException {
    if (!options.containsKey("now")) return System::currentTimeMillis;
    long ms = Math.multiplyExact(number(options, "now", 0), 1000L);
    return () -> ms;
  }

  private static UUID uuid(String text) throws UsageException {
    try {
      return UUID.fromString(dev.handoff.tickets.Ids.clientUuid(text));
    } catch (TicketException e) {
      throw new UsageException("invalid client uuid");
    }
  }

  private static int verify(Map<String, String> options, InputStream in, PrintStream out) throws UsageException, IOException {
    LongSupplier clock = clock(options);
    KeyRing ring = KeyRing.load(Path.of(required(options, "keys")), clock);
    UUID client = uuid(required(options, "client"));
    String source = required(options, "source");
    String target = required(options, "target");
    MemoryReplayStore store = new MemoryReplayStore(MemoryReplayStore.DEFAULT_MAX_ENTRIES, clock);
    TicketVerifier verifier = TicketVerifier.builder()
        .keyRing(ring)
        .replayStore(store)
        .maxTtlSeconds(number(options, "max-ttl", 60))
        .clockToleranceSeconds(number(options, "tolerance", 5))
        .clock(clock)
        .build();
    dev.handoff.tickets.Ids.backendId(source);
    dev.handoff.tickets.Ids.backendId(target);
    eachLine(in, out, line -> {
      try {
        verifier.verify(line.getBytes(StandardCharsets.ISO_8859_1), client, source, target);
        return "OK";
      } catch (TicketException e) {
        return e.code().name();
      }
    });
    return 0;
  }

  private static int issue(Map<String, String> options, InputStream in, PrintStream out) throws UsageException, IOException {
    LongSupplier clock = clock(options);
    KeyRing ring = KeyRing.load(Path.of(required(options, "keys")), clock);
    String target = required(options, "target");
    String pool = options.get("pool");
    String sid = options.get("sid");
    StateMode mode;
    String modeName = options.getOrDefault("state-mode", "auto").toUpperCase(Locale.ROOT);
    if (!List.of("AUTO", "INLINE").contains(modeName)) throw new UsageException("--state-mode must be auto or inline (the command has no state store)");
    mode = StateMode.valueOf(modeName);
    TicketIssuer issuer = TicketIssuer.builder()
        .keyRing(ring)
        .issuer(required(options, "source"))
        .ttlSeconds(number(options, "ttl", 30))
        .clock(clock)
        .build();
    eachLine(in, out, line -> {
      String[] parts = line.trim().split(" ", -1);
      if (parts.length > 2 || parts[0].isEmpty()) return "ERR_TICKET_INVALID_ARGUMENT";
      try {
        UUID client = UUID.fromString(dev.handoff.tickets.Ids.clientUuid(parts[0]));
        IssueRequest request = IssueRequest.of(client, target);
        if (pool != null) request = request.withPool(pool);
        if (sid != null) request = request.withSessionId(sid);
        if (parts.length == 2) {
          byte[] state;
          try {
            state = Base64.getUrlDecoder().decode(parts[1]);
          } catch (IllegalArgumentException e) {
            return "ERR_TICKET_INVALID_ARGUMENT";
          }
          request = request.withState(state, mode);
        }
        return issuer.issue(request);
      } catch (TicketException e) {
        return e.code().name();
      }
    });
    return 0;
  }

  private interface LineHandler {
    String handle(String line);
  }

  private static void eachLine(InputStream in, PrintStream out, LineHandler handler) throws IOException {
    BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.ISO_8859_1), 1 << 16);
    String line;
    while ((line = reader.readLine()) != null) {
      out.println(handler.handle(line));
      // answer at once when the caller waits for each line; batch when more input is queued
      if (!reader.ready()) out.flush();
    }
  }
}
