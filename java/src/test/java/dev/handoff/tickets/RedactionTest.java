package dev.handoff.tickets;

import static dev.handoff.tickets.Fixtures.CLIENT;
import static dev.handoff.tickets.Fixtures.SOURCE;
import static dev.handoff.tickets.Fixtures.T0;
import static dev.handoff.tickets.Fixtures.TARGET;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.handoff.tickets.cli.Main;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No secret (key material, HMAC secret, ticket body, nonce, state) in any exception message, reason or toString. */
class RedactionTest {
  private final Fixtures.Clock clock = new Fixtures.Clock(T0);
  private final List<String> secrets = new ArrayList<>();
  private final List<String> outputs = new ArrayList<>();
  private int exceptions;

  private void secret(String value) {
    secrets.add(value);
    if (value.length() > 16) secrets.add(value.substring(0, 12));
  }

  private void capture(Runnable action) {
    try {
      action.run();
      outputs.add("(no exception)");
    } catch (TicketException e) {
      exceptions++;
      assertNull(e.getCause(), "no cause is attached");
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      outputs.add(e.getMessage());
      outputs.add(String.valueOf(e.reason()));
      outputs.add(e.toString());
      outputs.add(trace.toString());
    }
  }

  private void show(Supplier<Object> object) {
    outputs.add(String.valueOf(object.get()));
  }

  @Test
  void noSecretAnywhere(@TempDir Path dir) throws Exception {
    secret(Fixtures.ED_D);
    secret(Fixtures.ED2_D);
    secret(Fixtures.HS_SECRET_TEXT);
    secret(Base64Url.encode(Fixtures.HS_SECRET));

    KeyRing ring = Fixtures.ring(clock);
    MemoryStateStore states = new MemoryStateStore(1 << 20, clock::now, null);
    TicketIssuer issuer = TicketIssuer.builder().keyRing(ring).issuer(SOURCE).clock(clock::now).stateStore(states).build();
    TicketVerifier verifier = Fixtures.verifier(ring, clock);
    byte[] inlineState = "player-state-SECRET-inline-0123456789".getBytes(StandardCharsets.UTF_8);
    byte[] bigState = new byte[3000];
    for (int i = 0; i < bigState.length; i++) bigState[i] = (byte) ('a' + i % 26);

    String token = issuer.issue(IssueRequest.of(CLIENT, TARGET).withState(inlineState));
    String refToken = issuer.issue(IssueRequest.of(CLIENT, TARGET).withState(bigState));
    for (String t : List.of(token, refToken)) {
      String[] p = t.split("\\.");
      secret(t);
      secret(p[1]);
      secret(p[2]);
      String claims = new String(Base64Url.decodeStrict(p[1]), StandardCharsets.UTF_8);
      secret(claims.replaceAll(".*\"jti\":\"([^\"]+)\".*", "$1"));
    }
    secret(Base64Url.encode(inlineState));
    secret(new String(inlineState, StandardCharsets.UTF_8));
    secret(TicketStates.sha256(bigState));
    String refClaims = new String(Base64Url.decodeStrict(refToken.split("\\.")[1]), StandardCharsets.UTF_8);
    secret(refClaims.replaceAll(".*\"ref\":\"([^\"]+)\".*", "$1"));

    // verified tickets, states, decisions and the other objects print no secret
    VerifiedTicket inline = verifier.verify(token, CLIENT, SOURCE, TARGET);
    VerifiedTicket byRef = verifier.verify(refToken, CLIENT, SOURCE, TARGET);
    show(() -> inline);
    show(() -> byRef);
    show(inline::state);
    show(byRef::state);
    show(() -> IssueRequest.of(CLIENT, TARGET).withState(inlineState));
    show(() -> ring);
    show(() -> ring.list());
    show(() -> issuer);
    show(() -> verifier);
    show(() -> states);
    TicketGuard guard = TicketGuard.builder().verifier(verifier).backendId(TARGET).source("10.0.0.5", 5520, SOURCE).stateStore(states).build();
    show(() -> guard);
    show(() -> guard.check(issuer.referralData(IssueRequest.of(CLIENT, TARGET).withState(bigState)), "10.0.0.5", 5520, CLIENT));
    show(() -> guard.check(token.getBytes(StandardCharsets.US_ASCII), "10.0.0.5", 5520, CLIENT));

    // every refusal of these tickets
    String[] p = token.split("\\.");
    capture(() -> verifier.verify(token, CLIENT, SOURCE, TARGET));
    capture(() -> verifier.verify(token, Fixtures.OTHER_CLIENT, SOURCE, TARGET));
    capture(() -> verifier.verify(token, CLIENT, "lobby-9", TARGET));
    capture(() -> verifier.verify(token, CLIENT, SOURCE, "game-9"));
    capture(() -> verifier.verify(p[0] + "." + p[1] + "." + Base64Url.encode(new byte[64]), CLIENT, SOURCE, TARGET));
    capture(() -> verifier.verify(p[0] + "." + p[1], CLIENT, SOURCE, TARGET));
    capture(() -> verifier.verify(token + "x".repeat(5000), CLIENT, SOURCE, TARGET));
    capture(() -> verifier.verify(Fixtures.b64u("{\"alg\":\"none\"") + "." + p[1] + "." + p[2], CLIENT, SOURCE, TARGET));
    capture(() -> verifier.verify(Fixtures.b64u(Fixtures.header("EdDSA", "nobody")) + "." + p[1] + "." + p[2], CLIENT, SOURCE, TARGET));
    capture(() -> verifier.verify(Fixtures.b64u(Fixtures.header("HS256", "ed-1")) + "." + p[1] + "." + p[2], CLIENT, SOURCE, TARGET));
    String expiring = issuer.issue(IssueRequest.of(CLIENT, TARGET).withState(inlineState));
    clock.advance(100);
    capture(() -> verifier.verify(expiring, CLIENT, SOURCE, TARGET));
    clock.set(T0);
    capture(() -> TicketStates.check(byRef, inlineState));
    capture(() -> TicketStates.check(inline, bigState));
    ReplayStore leaky = new ReplayStore() {
      @Override
      public Result consume(String nonce, long ttlMs) {
        throw new IllegalStateException("ERR SET handoff:ticket:jti:" + nonce + " failed");
      }

      @Override
      public void probe() {}
    };
    TicketVerifier leakyVerifier = TicketVerifier.builder().keyRing(ring).replayStore(leaky).clock(clock::now).build();
    String fresh = issuer.issue(IssueRequest.of(CLIENT, TARGET));
    secret(new String(Base64Url.decodeStrict(fresh.split("\\.")[1]), StandardCharsets.UTF_8).replaceAll(".*\"jti\":\"([^\"]+)\".*", "$1"));
    capture(() -> leakyVerifier.verify(fresh, CLIENT, SOURCE, TARGET));
    StateStore leakyStates = new StateStore() {
      @Override
      public String put(byte[] bytes, long ttlMs) {
        throw new IllegalStateException("SET with " + new String(bytes, StandardCharsets.ISO_8859_1));
      }

      @Override
      public byte[] get(String ref) {
        throw new IllegalStateException("GET " + ref);
      }
    };
    capture(() -> TicketStates.load(byRef, leakyStates));
    TicketIssuer leakyIssuer = TicketIssuer.builder().keyRing(ring).issuer(SOURCE).clock(clock::now).stateStore(leakyStates).build();
    capture(() -> leakyIssuer.issue(IssueRequest.of(CLIENT, TARGET).withState(bigState)));

    // key errors with key material in the input
    KeyRing other = new KeyRing(clock::now);
    String mismatched = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + Fixtures.ED_X + "\",\"d\":\"" + Fixtures.ED2_D + "\"}";
    capture(() -> other.addJwk(mismatched, KeyOptions.of("k")));
    capture(() -> other.addJwk(mismatched.replace("\"x\"", "\"use\":\"enc\",\"x\""), KeyOptions.of("k")));
    capture(() -> other.addJwk("{\"kty\":\"oct\",\"k\":\"" + Base64Url.encode(Fixtures.HS_SECRET).substring(0, 40) + "\"}", KeyOptions.of("k")));
    capture(() -> other.addJwk("{\"kty\":\"oct\",\"k\":\"" + Base64Url.encode(Fixtures.HS_SECRET) + "\",\"alg\":\"RS256\"}", KeyOptions.of("k")));
    capture(() -> other.addJwk("{\"kty\":\"oct\",\"k\":\"" + Base64Url.encode(Fixtures.HS_SECRET) + "\"", KeyOptions.of("k")));
    capture(() -> other.addSecret(Fixtures.HS_SECRET_TEXT.substring(0, 31).getBytes(StandardCharsets.UTF_8), KeyOptions.of("k")));
    capture(() -> other.addPem("-----BEGIN PRIVATE KEY-----\n" + Fixtures.ED_D + "\n-----END PRIVATE KEY-----", KeyOptions.of("k")));
    capture(() -> other.addJwks("{\"keys\":[" + mismatched + "]}"));
    Path keys = Files.createDirectory(dir.resolve("keys"));
    Files.writeString(keys.resolve("signing-key.jwk"), mismatched.replace("}", ",\"kid\":\"k\"}"));
    capture(() -> KeyRing.load(keys));

    // the command-line tool's error output
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Main.run(new String[] {"verify", "--keys", keys.toString(), "--client", CLIENT.toString(), "--source", SOURCE, "--target", TARGET},
        new ByteArrayInputStream(token.getBytes(StandardCharsets.US_ASCII)), new ByteArrayOutputStream(), new PrintStream(err, true, StandardCharsets.UTF_8));
    outputs.add(err.toString(StandardCharsets.UTF_8));

    assertTrue(exceptions == 25, "exceptions seen: " + exceptions);
    for (String output : outputs) {
      for (String s : secrets) assertFalse(output.contains(s), () -> "a secret appears in: " + output.substring(0, Math.min(200, output.length())));
    }
  }
}
