package dev.handoff.tickets;

import static dev.handoff.tickets.Fixtures.CLIENT;
import static dev.handoff.tickets.Fixtures.T0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.handoff.tickets.cli.Main;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
  private record Result(int status, List<String> lines, String err) {}

  private static Result run(String input, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(args, new ByteArrayInputStream(input.getBytes(StandardCharsets.ISO_8859_1)), out,
        new PrintStream(err, true, StandardCharsets.UTF_8));
    String text = out.toString(StandardCharsets.US_ASCII);
    return new Result(status, text.isEmpty() ? List.of() : List.of(text.split("\n")), err.toString(StandardCharsets.UTF_8));
  }

  private static Path keyDirectory(Path dir) throws Exception {
    Files.writeString(dir.resolve("signing-key.jwk"), Fixtures.edPrivateJwk().replace("}", ",\"kid\":\"cli-1\"}"));
    Files.writeString(dir.resolve("jwks.json"), "{\"keys\":[" + Fixtures.edPublicJwk().replace("}", ",\"kid\":\"cli-1\"}") + "]}");
    return dir;
  }

  @Test
  void issueThenVerifyWithOneReplayStorePerRun(@TempDir Path dir) throws Exception {
    String keys = keyDirectory(dir).toString();
    String now = Long.toString(T0);
    Result issued = run(CLIENT + "\n" + CLIENT + " AQID\nnot-a-uuid\n", "issue", "--keys", keys, "--source", "lobby-1", "--target", "game-7", "--pool",
        "minigames", "--now", now);
    assertEquals(0, issued.status(), issued.err());
    assertEquals(3, issued.lines().size());
    assertEquals("ERR_TICKET_INVALID_ARGUMENT", issued.lines().get(2));
    String a = issued.lines().get(0);
    String b = issued.lines().get(1);
    Result verified = run(a + "\n" + a + "\n" + b + "\ngarbage\n\n" + b + "\n", "verify", "--keys", dir.resolve("jwks.json").toString(), "--client",
        CLIENT.toString(), "--source", "lobby-1", "--target", "game-7", "--now", now);
    assertEquals(0, verified.status(), verified.err());
    assertEquals(List.of("OK", "ERR_TICKET_REPLAYED", "OK", "ERR_TICKET_MALFORMED", "ERR_TICKET_MALFORMED", "ERR_TICKET_REPLAYED"), verified.lines());
    // clock, tolerance and maximum lifetime options
    Result later = run(a + "\n", "verify", "--keys", keys, "--client", CLIENT.toString(), "--source", "lobby-1", "--target", "game-7", "--now",
        Long.toString(T0 + 36));
    assertEquals(List.of("ERR_TICKET_EXPIRED"), later.lines());
    Result tolerant = run(a + "\n", "verify", "--keys", keys, "--client", CLIENT.toString(), "--source", "lobby-1", "--target", "game-7", "--now",
        Long.toString(T0 + 36), "--tolerance", "6");
    assertEquals(List.of("OK"), tolerant.lines());
    Result strict = run(a + "\n", "verify", "--keys", keys, "--client", CLIENT.toString(), "--source", "lobby-1", "--target", "game-7", "--now", now,
        "--max-ttl", "29");
    assertEquals(List.of("ERR_TICKET_TTL"), strict.lines());
  }

  @Test
  void usageAndKeyErrorsExitTwo(@TempDir Path dir) {
    assertEquals(2, run("", "verify", "--keys", dir.toString()).status());
    assertEquals(2, run("", "verify", "--keys", dir.toString(), "--client", CLIENT.toString(), "--source", "lobby-1", "--target", "game-7").status());
    assertEquals(2, run("", "frobnicate").status());
    assertEquals(2, run("").status());
    assertEquals(2, run("", "issue", "--keys", dir.toString(), "--source", "lobby-1", "--target", "game-7", "--bogus", "1").status());
    assertEquals(2, run("", "issue", "--keys", dir.toString(), "--source", "lobby-1", "--target", "game-7", "--state-mode", "reference").status());
    Result help = run("", "--help");
    assertEquals(0, help.status());
    assertTrue(help.lines().get(0).startsWith("usage"));
  }
}
