package dev.handoff.tickets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import javax.crypto.spec.SecretKeySpec;

/**
 * A mutable, thread-safe set of ticket keys: several kids at once, each with one algorithm and an
 * optional validity window and pool scope, changed at runtime ({@link #add add}, {@link #retire retire},
 * {@link #remove remove}) so keys rotate without a restart. Key material never leaves this class: the
 * public surface exposes {@link KeyInfo} only, and no method or exception prints a key.
 *
 * <p>Keys come from JWKs (OKP Ed25519 public or private, oct secrets), from a JWK Set whose keys may
 * carry the extension members {@code nbf}, {@code exp} (NumericDate seconds) and {@code pools}, from PEM
 * (PKCS#8 private or SPKI public Ed25519), from raw HS256 secrets of at least 32 bytes, and from the key
 * directory that {@code handoff keys generate} writes ({@link #load(Path)}; docs/tickets.md, "Key
 * directory").
 */
public final class KeyRing {
  /** The shortest HS256 secret accepted, in bytes. */
  public static final int MIN_HS256_SECRET_BYTES = 32;
  /** In a key directory: the private signing key, one JWK with {@code kid}. */
  public static final String SIGNING_KEY_FILE = "signing-key.jwk";
  /** In a key directory: the public JWK Set. */
  public static final String JWKS_FILE = "jwks.json";

  private static final byte[] SPKI_ED25519 = hex("302a300506032b6570032100");
  private static final byte[] PKCS8_ED25519 = hex("302e020100300506032b657004220420");
  private static final byte[] PROBE = "handoff key-ring self-check".getBytes(StandardCharsets.US_ASCII);

  /** A key with its material (internal). */
  static final class Entry {
    final KeyInfo info;
    final Key verifyKey;
    final Key signKey;
    final long seq;
    final long notBeforeMs;
    final long notAfterMs;

    Entry(KeyInfo info, Key verifyKey, Key signKey, long seq) {
      this.info = info;
      this.verifyKey = verifyKey;
      this.signKey = signKey;
      this.seq = seq;
      this.notBeforeMs = info.notBefore() == null ? Long.MIN_VALUE : info.notBefore().toEpochMilli();
      this.notAfterMs = info.notAfter() == null ? Long.MAX_VALUE : info.notAfter().toEpochMilli();
    }

    Entry withInfo(KeyInfo next) {
      return new Entry(next, verifyKey, signKey, seq);
    }

    boolean inWindow(long atMs, long toleranceMs) {
      return (notBeforeMs == Long.MIN_VALUE || atMs >= notBeforeMs - toleranceMs)
          && (notAfterMs == Long.MAX_VALUE || atMs <= notAfterMs + toleranceMs);
    }
  }

  private record Imported(TicketAlgorithm alg, Key verifyKey, Key signKey) {}

  private final LongSupplier clock;
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final List<Consumer<KeyRingEvent>> listeners = new CopyOnWriteArrayList<>();
  private long seq;

  /** An empty key ring on the system clock. */
  public KeyRing() {
    this(System::currentTimeMillis);
  }

  /** An empty key ring; {@code clock} (ms since the epoch) is used by {@link #retire(String)}. */
  public KeyRing(LongSupplier clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  // ---------------------------------------------------------------- adding keys

  /** Adds a JWK (JSON text). Its {@code kid}, if present, must equal {@code options.kid()}. */
  public KeyInfo addJwk(String jwkJson, KeyOptions options) {
    return addJwk(jwkJson, options, false);
  }

  /** Adds a JWK (JSON text), replacing a key of the same kid when {@code replace}. */
  public KeyInfo addJwk(String jwkJson, KeyOptions options, boolean replace) {
    return addJwk(parseObject(jwkJson, "invalid JWK"), options, replace);
  }

  KeyInfo addJwk(Map<String, Object> jwk, KeyOptions options, boolean replace) {
    KeyInfo base = checkOptions(options);
    Object jwkKid = jwk.get("kid");
    if (jwk.containsKey("kid") && !options.kid().equals(jwkKid)) throw TicketException.invalid("key-kid", "JWK kid differs from the given kid");
    return insert(List.of(build(base, importJwk(jwk))), replace).get(0);
  }

  /** Adds an HS256 shared secret (at least 32 bytes; the array is copied). */
  public KeyInfo addSecret(byte[] secret, KeyOptions options) {
    return addSecret(secret, options, false);
  }

  /** Adds an HS256 shared secret, replacing a key of the same kid when {@code replace}. */
  public KeyInfo addSecret(byte[] secret, KeyOptions options, boolean replace) {
    KeyInfo base = checkOptions(options);
    return insert(List.of(build(base, importSecret(secret))), replace).get(0);
  }

  /** Adds an Ed25519 key from PEM: PKCS#8 ({@code PRIVATE KEY}, can sign) or SPKI ({@code PUBLIC KEY}). */
  public KeyInfo addPem(String pem, KeyOptions options) {
    return addPem(pem, options, false);
  }

  /** Adds an Ed25519 key from PEM, replacing a key of the same kid when {@code replace}. */
  public KeyInfo addPem(String pem, KeyOptions options, boolean replace) {
    KeyInfo base = checkOptions(options);
    return insert(List.of(build(base, importPem(pem))), replace).get(0);
  }

  /**
   * Adds every key of a JWK Set (JSON text). Each key needs {@code kid}; {@code nbf}, {@code exp}
   * (seconds) and {@code pools} set its window and scope. All or nothing: on any error no key is added.
   */
  public List<KeyInfo> addJwks(String jwksJson, boolean replace) {
    return insert(prepareJwks(parseObject(jwksJson, "invalid JWK Set")), replace);
  }

  /** {@link #addJwks(String, boolean)} without replacing. */
  public List<KeyInfo> addJwks(String jwksJson) {
    return addJwks(jwksJson, false);
  }

  /**
   * Adds the keys at {@code path}: a key directory (see {@link #load(Path)}) or a JWK Set file.
   * All or nothing.
   * @throws TicketException {@code ERR_TICKET_INVALID_ARGUMENT} for unreadable files or unusable keys
   */
  public List<KeyInfo> addFrom(Path path, boolean replace) {
    Objects.requireNonNull(path, "path");
    if (Files.isDirectory(path)) return insert(prepareDirectory(path), replace);
    return insert(prepareJwks(parseObject(read(path), "invalid JWK Set")), replace);
  }

  /**
   * A key ring holding the keys at {@code path}: either a JWK Set file, or a key directory as
   * {@code handoff keys generate} writes it: {@value #JWKS_FILE} (the public JWK Set, every key a
   * verifier should accept) and, on a signing backend, {@value #SIGNING_KEY_FILE} (one private Ed25519
   * JWK with {@code kid}). The signing key takes the place of the {@code jwks.json} entry of the same
   * kid (both must hold the same public key, and {@code nbf}, {@code exp}, {@code pools} must not
   * disagree); a directory with only {@code jwks.json} verifies only.
   */
  public static KeyRing load(Path path) {
    return load(path, System::currentTimeMillis);
  }

  /** {@link #load(Path)} with a clock. */
  public static KeyRing load(Path path, LongSupplier clock) {
    KeyRing ring = new KeyRing(clock);
    ring.addFrom(path, false);
    return ring;
  }

  // ---------------------------------------------------------------- changing keys

  /** Sets the key's {@code notAfter} to now unless it already ends earlier. */
  public KeyInfo retire(String kid) {
    return retire(kid, Instant.ofEpochMilli(clock.getAsLong()));
  }

  /** Sets the key's {@code notAfter} to {@code at} unless it already ends earlier. */
  public KeyInfo retire(String kid, Instant at) {
    Objects.requireNonNull(at, "at");
    KeyInfo info;
    synchronized (this) {
      Entry entry = entries.get(kid);
      if (entry == null) throw TicketException.invalid("key-unknown", "no key with this kid");
      Instant notAfter = entry.info.notAfter() == null || at.isBefore(entry.info.notAfter()) ? at : entry.info.notAfter();
      KeyInfo old = entry.info;
      info = new KeyInfo(old.kid(), old.alg(), old.canSign(), old.notBefore(), notAfter, old.pools());
      entries.put(kid, entry.withInfo(info));
    }
    emit(new KeyRingEvent(KeyRingEvent.Type.KEY_RETIRED, kid));
    return info;
  }

  /** Removes a key at once (e.g. a compromised key). Returns whether it was present. */
  public boolean remove(String kid) {
    boolean had;
    synchronized (this) {
      had = kid != null && entries.remove(kid) != null;
    }
    if (had) emit(new KeyRingEvent(KeyRingEvent.Type.KEY_REMOVED, kid));
    return had;
  }

  /** The key with this kid, or null. */
  public KeyInfo get(String kid) {
    Entry entry = kid == null ? null : entries.get(kid);
    return entry == null ? null : entry.info;
  }

  /** Every key, in the order added. */
  public List<KeyInfo> list() {
    List<Entry> all = new ArrayList<>(entries.values());
    all.sort(Comparator.comparingLong(e -> e.seq));
    List<KeyInfo> out = new ArrayList<>(all.size());
    for (Entry e : all) out.add(e.info);
    return out;
  }

  /** Calls {@code listener} after every change; run the returned action to unsubscribe. */
  public Runnable subscribe(Consumer<KeyRingEvent> listener) {
    Objects.requireNonNull(listener, "listener");
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  @Override
  public String toString() {
    return "KeyRing" + list().stream().map(KeyInfo::kid).toList();
  }

  // ---------------------------------------------------------------- lookups (internal)

  /** The key to verify a ticket with {@code kid} at {@code atMs}, or {@code ERR_TICKET_KEY_UNKNOWN}. */
  Entry verificationKey(String kid, long atMs, long toleranceMs) {
    Entry entry = entries.get(kid);
    if (entry == null) throw new TicketException(TicketErrorCode.ERR_TICKET_KEY_UNKNOWN, "no key with the ticket kid", "unknown-kid");
    if (!entry.inWindow(atMs, toleranceMs)) {
      throw new TicketException(TicketErrorCode.ERR_TICKET_KEY_UNKNOWN, "the ticket key is outside its validity window", "outside-window");
    }
    return entry;
  }

  /**
   * The newest signing key usable for {@code pool} at {@code atMs} for a ticket living
   * {@code lifetimeMs}: active now and still valid when the ticket expires. Newest: the latest
   * {@code notBefore}, then the latest added.
   */
  Entry signingKey(long atMs, String pool, long lifetimeMs) {
    Entry best = null;
    for (Entry entry : entries.values()) {
      if (entry.signKey == null || !entry.info.allowsPool(pool)) continue;
      if (entry.notBeforeMs != Long.MIN_VALUE && atMs < entry.notBeforeMs) continue;
      if (entry.notAfterMs != Long.MAX_VALUE && atMs + lifetimeMs > entry.notAfterMs) continue;
      if (best == null || entry.notBeforeMs > best.notBeforeMs || (entry.notBeforeMs == best.notBeforeMs && entry.seq > best.seq)) {
        best = entry;
      }
    }
    return best;
  }

  /** Whether some key can verify tickets of {@code pool} at {@code atMs}. */
  public boolean hasVerificationKey(String pool, long atMs) {
    for (Entry entry : entries.values()) if (entry.info.allowsPool(pool) && entry.inWindow(atMs, 0)) return true;
    return false;
  }

  // ---------------------------------------------------------------- internals

  private record Prepared(KeyInfo info, Imported imported) {}

  private List<KeyInfo> insert(List<Prepared> prepared, boolean replace) {
    List<KeyInfo> added = new ArrayList<>(prepared.size());
    synchronized (this) {
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (Prepared p : prepared) {
        if (!seen.add(p.info.kid()) || (!replace && entries.containsKey(p.info.kid()))) {
          throw TicketException.invalid("key-duplicate", "a key with this kid is already in the ring");
        }
      }
      for (Prepared p : prepared) {
        entries.put(p.info.kid(), new Entry(p.info, p.imported.verifyKey, p.imported.signKey, seq++));
        added.add(p.info);
      }
    }
    for (KeyInfo info : added) emit(new KeyRingEvent(KeyRingEvent.Type.KEY_ADDED, info.kid()));
    return added;
  }

  private void emit(KeyRingEvent event) {
    for (Consumer<KeyRingEvent> listener : listeners) {
      try {
        listener.accept(event);
      } catch (RuntimeException ignored) {
        // a listener's failure is its own; the ring stays consistent
      }
    }
  }

  private static Prepared build(KeyInfo base, Imported imported) {
    return new Prepared(new KeyInfo(base.kid(), imported.alg, imported.signKey != null, base.notBefore(), base.notAfter(), base.pools()), imported);
  }

  private static KeyInfo checkOptions(KeyOptions options) {
    if (options == null) throw TicketException.invalid("key-input", "invalid key input");
    if (!Ids.matches(Ids.KID, options.kid())) throw TicketException.invalid("key-kid", "invalid kid");
    if (options.notBefore() != null && options.notAfter() != null && options.notAfter().isBefore(options.notBefore())) {
      throw TicketException.invalid("key-validity", "key notAfter is before notBefore");
    }
    List<String> pools = null;
    if (options.pools() != null) {
      for (String pool : options.pools()) if (!Ids.matches(Ids.BACKEND_ID, pool)) throw TicketException.invalid("key-pools", "invalid key pools");
      pools = List.copyOf(options.pools());
    }
    return new KeyInfo(options.kid(), null, false, options.notBefore(), options.notAfter(), pools);
  }

  private static List<Prepared> prepareJwks(Map<String, Object> jwks) {
    if (!(jwks.get("keys") instanceof List<?> keys)) throw TicketException.invalid("jwks", "invalid JWK Set");
    List<Prepared> out = new ArrayList<>(keys.size());
    for (Object key : keys) {
      if (!(key instanceof Map<?, ?>)) throw TicketException.invalid("key-material", "invalid JWK");
      @SuppressWarnings("unchecked")
      Map<String, Object> jwk = (Map<String, Object>) key;
      out.add(build(checkOptions(jwkOptions(jwk)), importJwk(jwk)));
    }
    return out;
  }

  private static KeyOptions jwkOptions(Map<String, Object> jwk) {
    if (!(jwk.get("kid") instanceof String kid)) throw TicketException.invalid("key-kid", "every JWK in the set needs a \"kid\"");
    Object pools = jwk.get("pools");
    List<String> poolList = null;
    if (jwk.containsKey("pools")) {
      if (!(pools instanceof List<?> list)) throw TicketException.invalid("key-pools", "invalid JWK pools");
      poolList = new ArrayList<>();
      for (Object p : list) {
        if (!(p instanceof String s)) throw TicketException.invalid("key-pools", "invalid key pools");
        poolList.add(s);
      }
    }
    return new KeyOptions(kid, seconds(jwk, "nbf"), seconds(jwk, "exp"), poolList);
  }

  private static Instant seconds(Map<String, Object> jwk, String member) {
    if (!jwk.containsKey(member)) return null;
    Object value = jwk.get(member);
    if (!(value instanceof Json.Num n) || Math.abs(n.value) > 9007199254740991d || n.value != Math.rint(n.value)) {
      throw TicketException.invalid("key-validity", "invalid JWK " + member);
    }
    return Instant.ofEpochSecond((long) n.value);
  }

  private static List<Prepared> prepareDirectory(Path dir) {
    Path jwksPath = dir.resolve(JWKS_FILE);
    Path signingPath = dir.resolve(SIGNING_KEY_FILE);
    boolean hasJwks = Files.isRegularFile(jwksPath);
    boolean hasSigning = Files.isRegularFile(signingPath);
    if (!hasJwks && !hasSigning) {
      throw TicketException.invalid("key-directory", "a key directory needs " + JWKS_FILE + " or " + SIGNING_KEY_FILE);
    }
    List<Prepared> keys = new ArrayList<>(hasJwks ? prepareJwks(parseObject(read(jwksPath), "invalid JWK Set")) : List.of());
    if (!hasSigning) return keys;
    Map<String, Object> jwk = parseObject(read(signingPath), "invalid JWK");
    if (jwk.get("d") == null || !"OKP".equals(jwk.get("kty"))) {
      throw TicketException.invalid("key-directory", SIGNING_KEY_FILE + " must hold a private Ed25519 JWK");
    }
    Prepared signing = build(checkOptions(jwkOptions(jwk)), importJwk(jwk));
    for (int i = 0; i < keys.size(); i++) {
      Prepared published = keys.get(i);
      if (!published.info.kid().equals(signing.info.kid())) continue;
      KeyInfo pub = published.info;
      boolean sameKey = published.imported.alg == TicketAlgorithm.EdDSA
          && Arrays.equals(published.imported.verifyKey.getEncoded(), signing.imported.verifyKey.getEncoded());
      if (!sameKey) throw TicketException.invalid("key-directory", JWKS_FILE + " lists another key under the signing key's kid");
      KeyInfo own = signing.info;
      Instant nbf = merge(own.notBefore(), pub.notBefore(), jwk.containsKey("nbf"));
      Instant exp = merge(own.notAfter(), pub.notAfter(), jwk.containsKey("exp"));
      List<String> pools = jwk.containsKey("pools") ? mergePools(own.pools(), pub.pools()) : pub.pools();
      keys.set(i, new Prepared(new KeyInfo(pub.kid(), TicketAlgorithm.EdDSA, true, nbf, exp, pools), signing.imported));
      return keys;
    }
    keys.add(signing);
    return keys;
  }

  private static Instant merge(Instant own, Instant published, boolean ownPresent) {
    if (!ownPresent) return published;
    if (!Objects.equals(own, published)) throw TicketException.invalid("key-directory", "the signing key and " + JWKS_FILE + " disagree on its window");
    return own;
  }

  private static List<String> mergePools(List<String> own, List<String> published) {
    if (!Objects.equals(own, published)) throw TicketException.invalid("key-directory", "the signing key and " + JWKS_FILE + " disagree on its pools");
    return own;
  }

  private static String read(Path path) {
    try {
      return Files.readString(path, StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      throw TicketException.invalid("key-file", "key file could not be read: " + path.getFileName());
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> parseObject(String json, String message) {
    Object value;
    try {
      value = Json.parse(Objects.requireNonNull(json, "json"));
    } catch (Json.ParseException e) {
      throw TicketException.invalid("key-material", message);
    }
    if (!(value instanceof Map<?, ?>)) throw TicketException.invalid("key-material", message);
    return (Map<String, Object>) value;
  }

  private static Imported importJwk(Map<String, Object> jwk) {
    if (jwk.containsKey("use") && !"sig".equals(jwk.get("use"))) throw TicketException.invalid("key-use", "JWK \"use\" must be \"sig\" when present");
    Object kty = jwk.get("kty");
    if ("OKP".equals(kty)) {
      if (!"Ed25519".equals(jwk.get("crv"))) throw TicketException.invalid("key-curve", "OKP keys must use the Ed25519 curve");
      if (jwk.containsKey("alg") && !"EdDSA".equals(jwk.get("alg"))) {
        throw TicketException.invalid("key-alg", "Ed25519 keys must have alg \"EdDSA\" when alg is present");
      }
      byte[] x = jwk.get("x") instanceof String s ? Base64Url.decodeStrict(s) : null;
      if (x == null || x.length != 32) throw TicketException.invalid("key-material", "invalid Ed25519 public key");
      PublicKey publicKey = ed25519Public(x);
      if (!jwk.containsKey("d")) return new Imported(TicketAlgorithm.EdDSA, publicKey, null);
      byte[] d = jwk.get("d") instanceof String s ? Base64Url.decodeStrict(s) : null;
      if (d == null || d.length != 32) throw TicketException.invalid("key-material", "invalid Ed25519 private key");
      PrivateKey privateKey = ed25519Private(d);
      Arrays.fill(d, (byte) 0);
      // A private half that does not match x would sign tickets nobody can verify: refuse it now.
      if (!selfCheck(privateKey, publicKey)) throw TicketException.invalid("key-mismatch", "Ed25519 private key does not match its public key");
      return new Imported(TicketAlgorithm.EdDSA, publicKey, privateKey);
    }
    if ("oct".equals(kty)) {
      if (jwk.containsKey("alg") && !"HS256".equals(jwk.get("alg"))) throw TicketException.invalid("key-alg", "oct keys must have alg \"HS256\" when alg is present");
      byte[] secret = jwk.get("k") instanceof String s ? Base64Url.decodeStrict(s) : null;
      if (secret == null) throw TicketException.invalid("key-material", "invalid oct key");
      Imported imported = importSecret(secret);
      Arrays.fill(secret, (byte) 0);
      return imported;
    }
    throw TicketException.invalid("key-type", "unsupported key type: use OKP Ed25519 or oct (HS256)");
  }

  private static Imported importSecret(byte[] secret) {
    if (secret == null || secret.length < MIN_HS256_SECRET_BYTES) {
      throw TicketException.invalid("secret-too-short", "HS256 secrets must be at least " + MIN_HS256_SECRET_BYTES + " bytes");
    }
    SecretKeySpec key = new SecretKeySpec(secret, "HmacSHA256");
    return new Imported(TicketAlgorithm.HS256, key, key);
  }

  private static Imported importPem(String pem) {
    if (pem == null) throw TicketException.invalid("key-material", "PEM could not be parsed (expect PKCS#8 or SPKI)");
    boolean isPrivate = pem.contains("-----BEGIN PRIVATE KEY-----");
    boolean isPublic = pem.contains("-----BEGIN PUBLIC KEY-----");
    if (isPrivate == isPublic) throw TicketException.invalid("key-material", "PEM could not be parsed (expect PKCS#8 or SPKI)");
    String label = isPrivate ? "PRIVATE KEY" : "PUBLIC KEY";
    int start = pem.indexOf("-----BEGIN " + label + "-----") + ("-----BEGIN " + label + "-----").length();
    int end = pem.indexOf("-----END " + label + "-----", start);
    if (end < 0) throw TicketException.invalid("key-material", "PEM could not be parsed (expect PKCS#8 or SPKI)");
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(pem.substring(start, end).strip());
    } catch (IllegalArgumentException e) {
      throw TicketException.invalid("key-material", "PEM could not be parsed (expect PKCS#8 or SPKI)");
    }
    try {
      KeyFactory factory = KeyFactory.getInstance("Ed25519");
      if (isPublic) return new Imported(TicketAlgorithm.EdDSA, factory.generatePublic(new X509EncodedKeySpec(der)), null);
      PrivateKey privateKey = factory.generatePrivate(new PKCS8EncodedKeySpec(der));
      if (!(privateKey instanceof EdECPrivateKey ed) || ed.getBytes().isEmpty()) throw new GeneralSecurityException();
      byte[] d = ed.getBytes().get();
      PublicKey publicKey = derivePublic(d);
      Arrays.fill(d, (byte) 0);
      return new Imported(TicketAlgorithm.EdDSA, publicKey, privateKey);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw TicketException.invalid("key-type", "PEM keys must be Ed25519 (PKCS#8 or SPKI)");
    } finally {
      Arrays.fill(der, (byte) 0);
    }
  }

  static PublicKey ed25519Public(byte[] x) {
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(concat(SPKI_ED25519, x)));
    } catch (GeneralSecurityException | RuntimeException e) {
      throw TicketException.invalid("key-material", "invalid Ed25519 public key");
    }
  }

  static PrivateKey ed25519Private(byte[] d) {
    byte[] der = concat(PKCS8_ED25519, d);
    try {
      return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (GeneralSecurityException | RuntimeException e) {
      throw TicketException.invalid("key-material", "invalid Ed25519 private key");
    } finally {
      Arrays.fill(der, (byte) 0);
    }
  }

  /** The public key of an Ed25519 private scalar seed: the JDK's generator fed with {@code d}. */
  private static PublicKey derivePublic(byte[] d) throws GeneralSecurityException {
    byte[] seed = d.clone();
    SecureRandom fixed = new SecureRandom() {
      private static final long serialVersionUID = 1L;

      @Override
      public void nextBytes(byte[] bytes) {
        System.arraycopy(seed, 0, bytes, 0, Math.min(seed.length, bytes.length));
        Arrays.fill(seed, (byte) 0);
      }
    };
    KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
    generator.initialize(NamedParameterSpec.ED25519, fixed);
    KeyPair pair = generator.generateKeyPair();
    return pair.getPublic();
  }

  private static boolean selfCheck(PrivateKey privateKey, PublicKey publicKey) {
    try {
      Signature signer = Signature.getInstance("Ed25519");
      signer.initSign(privateKey);
      signer.update(PROBE);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(publicKey);
      verifier.update(PROBE);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static byte[] hex(String text) {
    byte[] out = new byte[text.length() / 2];
    for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(text.substring(2 * i, 2 * i + 2), 16);
    return out;
  }
}
