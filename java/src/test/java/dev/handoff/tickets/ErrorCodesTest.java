package dev.handoff.tickets;

import static dev.handoff.tickets.Fixtures.CLIENT;
import static dev.handoff.tickets.Fixtures.SOURCE;
import static dev.handoff.tickets.Fixtures.T0;
import static dev.handoff.tickets.Fixtures.TARGET;
import static dev.handoff.tickets.Fixtures.claims;
import static dev.handoff.tickets.Fixtures.header;
import static dev.handoff.tickets.Fixtures.signRaw;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ErrorCodesTest {
  /** The same codes and one-line descriptions as @handoff/tickets (packages/tickets/src/errors.ts). */
  @Test
  void theSameCodesAsTheTypeScriptPackage() throws Exception {
    String source = Files.readString(Fixtures.repoRoot().resolve("packages/tickets/src/errors.ts"), StandardCharsets.UTF_8);
    Matcher m = Pattern.compile("(ERR_TICKET_[A-Z_]+):\\s*'((?:[^'\\\\]|\\\\.)*)'").matcher(source);
    Map<String, String> ts = new LinkedHashMap<>();
    while (m.find()) ts.put(m.group(1), m.group(2).replace("\\'", "'"));
    Map<String, String> java = new LinkedHashMap<>();
    for (TicketErrorCode code : TicketErrorCode.values()) java.put(code.name(), code.description());
    assertEquals(ts, java);
  }

  /** One scenario per code, through the public API: every code is reachable. */
  @Test
  void everyCodeIsReached() {
    Fixtures.Clock clock = new Fixtures.Clock(T0);
    KeyRing ring = Fixtures.ring(clock);
    TicketVerifier verifier = Fixtures.verifier(ring, clock);
    TicketIssuer issuer = Fixtures.issuer(ring, clock);
    MemoryStateStore states = new MemoryStateStore(1 << 20, clock::now, null);
    TicketIssuer withStates = TicketIssuer.builder().keyRing(ring).issuer(SOURCE).clock(clock::now).stateStore(states).build();
    Set<TicketErrorCode> reached = EnumSet.noneOf(TicketErrorCode.class);
    List<Runnable> scenarios = List.of(
        () -> verifier.verify("a.b", CLIENT, SOURCE, TARGET),
        () -> verifier.verify("a".repeat(4097), CLIENT, SOURCE, TARGET),
        () -> verifier.verify(signRaw(header("none", "ed-1"), claims(T0, T0 + 30, ""), "none"), CLIENT, SOURCE, TARGET),
        () -> verifier.verify(signRaw(header("EdDSA", "nobody"), claims(T0, T0 + 30, ""), "ed"), CLIENT, SOURCE, TARGET),
        () -> verifier.verify(signRaw(header("EdDSA", "ed-1"), claims(T0, T0 + 30, ""), "ed2"), CLIENT, SOURCE, TARGET),
        () -> verifier.verify(signRaw(header("EdDSA", "ed-1"), claims(T0 - 100, T0 - 70, ""), "ed"), CLIENT, SOURCE, TARGET),
        () -> verifier.verify(signRaw(header("EdDSA", "ed-1"), claims(T0 + 100, T0 + 130, ""), "ed"), CLIENT, SOURCE, TARGET),
        () -> verifier.verify(signRaw(header("EdDSA", "ed-1"), claims(T0, T0 + 3600, ""), "ed"), CLIENT, SOURCE, TARGET),
        () -> verifier.verify(issuer.issue(IssueRequest.of(CLIENT, TARGET)), Fixtures.OTHER_CLIENT, SOURCE, TARGET),
        () -> verifier.verify(issuer.issue(IssueRequest.of(CLIENT, TARGET)), CLIENT, "lobby-2", TARGET),
        () -> verifier.verify(issuer.issue(IssueRequest.of(CLIENT, TARGET)), CLIENT, SOURCE, "game-8"),
        () -> {
          String token = issuer.issue(IssueRequest.of(CLIENT, TARGET));
          verifier.verify(token, CLIENT, SOURCE, TARGET);
          verifier.verify(token, CLIENT, SOURCE, TARGET);
        },
        () -> {
          MemoryReplayStore closed = new MemoryReplayStore(1, clock::now);
          closed.close();
          TicketVerifier.builder().keyRing(ring).replayStore(closed).clock(clock::now).build()
              .verify(issuer.issue(IssueRequest.of(CLIENT, TARGET)), CLIENT, SOURCE, TARGET);
        },
        () -> issuer.issue(IssueRequest.of(CLIENT, TARGET).withPool("no-key-for-this-pool-if-restricted").withState(new byte[5000])),
        () -> Fixtures.issuer(new KeyRing(clock::now), clock).issue(IssueRequest.of(CLIENT, TARGET)),
        () -> {
          VerifiedTicket t = verifier.verify(withStates.issue(IssueRequest.of(CLIENT, TARGET).withState(new byte[3000])), CLIENT, SOURCE, TARGET);
          TicketStates.check(t, new byte[2999]);
        },
        () -> {
          VerifiedTicket t = verifier.verify(withStates.issue(IssueRequest.of(CLIENT, TARGET).withState(new byte[3000])), CLIENT, SOURCE, TARGET);
          TicketStates.load(t, null);
        },
        () -> ring.addSecret(new byte[8], KeyOptions.of("short")));
    for (Runnable scenario : scenarios) {
      try {
        scenario.run();
      } catch (TicketException e) {
        reached.add(e.code());
      }
    }
    assertEquals(EnumSet.allOf(TicketErrorCode.class), reached);
  }
}
