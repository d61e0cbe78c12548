package dev.handoff.tickets.bench;

import dev.handoff.tickets.IssueRequest;
import dev.handoff.tickets.KeyOptions;
import dev.handoff.tickets.KeyRing;
import dev.handoff.tickets.MemoryReplayStore;
import dev.handoff.tickets.TicketIssuer;
import dev.handoff.tickets.TicketVerifier;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Verifications per second of the Java library, EdDSA and HS256, with the in-memory replay store, in
 * one thread and in four (`scripts/java.sh bench [--json]`, run by `pnpm bench java`). Every
 * verification consumes a fresh ticket (tickets are single use; each scenario has its own replay store),
 * issued before timing starts; the JIT is warmed up first (at least 4000 verifications). Numbers are medians of several rounds; benchmarks never pass or fail.
 */
public final class VerifyBench {
  private static final int ROUNDS = 9;
  private static final UUID CLIENT = UUID.fromString("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");

  private VerifyBench() {}

  public static void main(String[] args) throws Exception {
    boolean json = Arrays.asList(args).contains("--json");
    Map<String, double[]> results = new LinkedHashMap<>();
    Map<String, Integer> batches = Map.of("EdDSA", 600, "HS256", 5000);
    for (String alg : List.of("EdDSA", "HS256")) {
      int batch = batches.get(alg);
      for (int threads : new int[] {1, 4}) {
        double[] s = scenario(alg, threads, batch);
        results.put(alg + "/t" + threads, s);
        log(json, String.format(Locale.ROOT, "%-44s %8.0f verifications/s (median of %d; min %.0f, max %.0f)",
            "java verify " + alg + " + memory store, " + threads + (threads == 1 ? " thread" : " threads"), s[0], ROUNDS, s[1], s[2]));
      }
    }
    double raw = RAW_MEDIAN[0];
    log(json, String.format(Locale.ROOT, "%-44s %8.0f verifications/s (median of %d): the library's EdDSA overhead is %.0f%%",
        "baseline: JDK Signature(\"Ed25519\").verify alone", raw, ROUNDS, (raw / results.get("EdDSA/t1")[0] - 1) * 100));
    log(json, String.format(Locale.ROOT, "4 threads / 1 thread: EdDSA %.2fx, HS256 %.2fx (%d cores)", results.get("EdDSA/t4")[0] / results.get("EdDSA/t1")[0],
        results.get("HS256/t4")[0] / results.get("HS256/t1")[0], Runtime.getRuntime().availableProcessors()));
    if (json) {
      StringBuilder out = new StringBuilder("{\n  \"unit\": \"verifications per second (median)\",\n  \"rounds\": " + ROUNDS + ",\n  \"batch\": { \"EdDSA\": " + batches.get("EdDSA") + ", \"HS256\": " + batches.get("HS256") + " }"
          + ",\n  \"cores\": " + Runtime.getRuntime().availableProcessors() + ",\n  \"jvm\": \"" + System.getProperty("java.vm.version") + "\",\n  \"results\": {");
      out.append("\n    \"jdkEd25519VerifyBaseline\": ").append(Math.round(raw)).append(',');
      String sep = "\n";
      for (Map.Entry<String, double[]> e : results.entrySet()) {
        double[] s = e.getValue();
        out.append(sep).append(String.format(Locale.ROOT, "    \"%s\": { \"median\": %d, \"min\": %d, \"max\": %d }", e.getKey(), Math.round(s[0]), Math.round(s[1]),
            Math.round(s[2])));
        sep = ",\n";
      }
      System.out.println(out.append("\n  }\n}"));
    }
  }

  private static void log(boolean json, String line) {
    (json ? System.err : System.out).println(line);
  }

  /** The key ring and the tickets of one algorithm (issued once, verified by each scenario's own replay store). */
  private record Setup(KeyRing ring, List<byte[]> tokens, long now) {}

  private static final Map<String, Setup> SETUPS = new java.util.HashMap<>();

  private static int warmup(int batch) {
    return Math.max(3 * batch, 4000);
  }

  private static Setup setup(String alg, int batch) throws Exception {
    Setup existing = SETUPS.get(alg);
    if (existing != null) return existing;
    long now = System.currentTimeMillis();
    KeyRing ring = new KeyRing(() -> now);
    if (alg.equals("EdDSA")) {
      byte[] pkcs8 = KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate().getEncoded();
      ring.addPem("-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(pkcs8) + "\n-----END PRIVATE KEY-----\n", KeyOptions.of("bench-ed"));
    } else {
      byte[] secret = new byte[32];
      new SecureRandom().nextBytes(secret);
      ring.addSecret(secret, KeyOptions.of("bench-hs"));
    }
    TicketIssuer issuer = TicketIssuer.builder().keyRing(ring).issuer("lobby-1").ttlSeconds(60).clock(() -> now).build();
    int total = warmup(batch) + ROUNDS * batch;
    List<byte[]> tokens = new ArrayList<>(total);
    IssueRequest request = IssueRequest.of(CLIENT, "game-7").withPool("bench");
    for (int i = 0; i < total; i++) tokens.add(issuer.referralData(request));
    Setup made = new Setup(ring, tokens, now);
    SETUPS.put(alg, made);
    return made;
  }

  /** Returns {median, min, max} verifications per second. */
  private static double[] scenario(String alg, int threads, int batch) throws Exception {
    Setup setup = setup(alg, batch);
    long now = setup.now();
    TicketVerifier verifier = TicketVerifier.builder()
        .keyRing(setup.ring())
        .replayStore(new MemoryReplayStore(1_000_000, () -> now))
        .clock(() -> now)
        .build();
    AtomicInteger next = new AtomicInteger();
    // the JDK baseline runs alternately with the EdDSA/t1 rounds, so both see the same machine load
    boolean baseline = alg.equals("EdDSA") && threads == 1;
    java.security.KeyPair pair = baseline ? KeyPairGenerator.getInstance("Ed25519").generateKeyPair() : null;
    byte[] input = setup.tokens().get(0);
    byte[] signature = null;
    if (baseline) {
      java.security.Signature signer = java.security.Signature.getInstance("Ed25519");
      signer.initSign(pair.getPrivate());
      signer.update(input);
      signature = signer.sign();
      rawEd25519Batch(pair, input, signature, warmup(batch));
    }
    runBatch(verifier, setup.tokens(), next, warmup(batch), threads);
    double[] rates = new double[ROUNDS];
    double[] raw = new double[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
      long start = System.nanoTime();
      runBatch(verifier, setup.tokens(), next, batch, threads);
      rates[r] = batch / ((System.nanoTime() - start) / 1e9);
      if (baseline) raw[r] = rawEd25519Batch(pair, input, signature, batch);
    }
    if (baseline) {
      Arrays.sort(raw);
      RAW_MEDIAN[0] = raw[ROUNDS / 2];
    }
    Arrays.sort(rates);
    return new double[] {rates[ROUNDS / 2], rates[0], rates[ROUNDS - 1]};
  }

  /** Median of the baseline rounds, measured alternately with the EdDSA/t1 rounds. */
  private static final double[] RAW_MEDIAN = new double[1];

  /**
   * The JDK's Ed25519 verification alone (one thread), over a ticket-sized input: the floor under
   * EdDSA/t1. Returns the verifications per second of one batch.
   */
  private static double rawEd25519Batch(java.security.KeyPair pair, byte[] input, byte[] signature, int count) throws Exception {
    java.security.Signature verifier = java.security.Signature.getInstance("Ed25519");
    boolean ok = true;
    long start = System.nanoTime();
    for (int i = 0; i < count; i++) {
      verifier.initVerify(pair.getPublic());
      verifier.update(input);
      ok &= verifier.verify(signature);
    }
    double rate = count / ((System.nanoTime() - start) / 1e9);
    if (!ok) throw new IllegalStateException("baseline signature did not verify");
    return rate;
  }

  private static void runBatch(TicketVerifier verifier, List<byte[]> tokens, AtomicInteger next, int count, int threads) throws InterruptedException {
    int end = next.get() + count;
    CountDownLatch done = new CountDownLatch(threads);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread worker = new Thread(() -> {
        try {
          int i;
          while ((i = next.getAndIncrement()) < end) verifier.verify(tokens.get(i), CLIENT, "lobby-1", "game-7");
        } finally {
          done.countDown();
        }
      });
      workers.add(worker);
    }
    for (Thread w : workers) w.start();
    done.await();
    next.set(end);
  }
}
