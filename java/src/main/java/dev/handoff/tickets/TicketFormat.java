package dev.handoff.tickets;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The wire format (docs/tickets.md, "Encoding" to "State"): a compact JWS whose protected header is
 * exactly {@code {"alg","kid","typ"}} and whose payload is a closed set of claims. Parses and encodes
 * both strictly, in the same order and with the same outcomes as {@code @handoff/tickets}; performs no
 * cryptography. Internal.
 */
final class TicketFormat {
  static final String TYP = "handoff-migration+jwt";
  static final int MAX_TICKET_BYTES = 4096;
  static final int NONCE_BYTES = 16;
  static final long MAX_STATE_REF_LENGTH = 2147483647L;

  private static final Pattern NONCE = Pattern.compile("[A-Za-z0-9_-]{22}");
  private static final Pattern SHA256_B64U = Pattern.compile("[A-Za-z0-9_-]{43}");
  private static final Set<String> HEADER_MEMBERS = Set.of("alg", "kid", "typ");
  private static final Set<String> CLAIM_MEMBERS = Set.of("iss", "aud", "sub", "jti", "iat", "exp", "pool", "sid", "st");

  private TicketFormat() {}

  record Segments(String header, String payload, String signature) {}

  record Header(TicketAlgorithm alg, String kid) {}

  /** The {@code st} claim: {@code in} set (inline, base64url) or {@code ref}, {@code len}, {@code sha256}. */
  record StateClaim(String in, String ref, long len, String sha256) {}

  record Claims(String iss, String aud, String sub, String jti, long iat, long exp, String pool, String sid, StateClaim st) {}

  // ---------------------------------------------------------------- parsing

  static Segments split(byte[] token) {
    if (token.length > MAX_TICKET_BYTES) throw new TicketException(TicketErrorCode.ERR_TICKET_TOO_LARGE, null, "verify");
    for (byte b : token) if (b > 0x7e || b < 0x21) throw TicketException.malformed("not-ascii");
    return splitText(new String(token, StandardCharsets.ISO_8859_1));
  }

  static Segments split(String token) {
    if (token == null) throw TicketException.malformed("not-a-string");
    // UTF-8 is never shorter than UTF-16 code units, so the length alone decides the common case.
    if (token.length() > MAX_TICKET_BYTES || utf8Length(token) > MAX_TICKET_BYTES) {
      throw new TicketException(TicketErrorCode.ERR_TICKET_TOO_LARGE, null, "verify");
    }
    return splitText(token);
  }

  private static long utf8Length(String s) {
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else n += 3; // lone surrogates encode as U+FFFD (3 bytes), as Node does
    }
    return n;
  }

  private static Segments splitText(String text) {
    int first = text.indexOf('.');
    int second = first < 0 ? -1 : text.indexOf('.', first + 1);
    if (first < 0 || second < 0 || text.indexOf('.', second + 1) >= 0) throw TicketException.malformed("segment-count");
    String header = text.substring(0, first);
    String payload = text.substring(first + 1, second);
    String signature = text.substring(second + 1);
    if (header.isEmpty() || payload.isEmpty()) throw TicketException.malformed("empty-segment");
    if (Base64Url.decodeStrict(header) == null || Base64Url.decodeStrict(payload) == null || Base64Url.decodeStrict(signature) == null) {
      throw TicketException.malformed("base64url");
    }
    return new Segments(header, payload, signature);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> jsonObject(String segment, String what) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(Base64Url.decodeStrict(segment)))
          .toString();
    } catch (CharacterCodingException e) {
      throw TicketException.malformed(what + "-json");
    }
    Object value;
    try {
      value = Json.parse(text);
    } catch (Json.ParseException e) {
      throw TicketException.malformed(what + "-json");
    }
    if (!(value instanceof Map<?, ?>)) throw TicketException.malformed(what + "-not-object");
    return (Map<String, Object>) value;
  }

  /**
   * Structure first ({@code ERR_TICKET_MALFORMED}: an object of exactly {@code alg}, {@code kid},
   * {@code typ}, all strings, {@code kid} grammar, {@code typ} exact), then the algorithm value
   * ({@code ERR_TICKET_ALG} for {@code none} and anything but EdDSA and HS256).
   */
  static Header parseHeader(String segment) {
    Map<String, Object> header = jsonObject(segment, "header");
    for (String key : header.keySet()) if (!HEADER_MEMBERS.contains(key)) throw TicketException.malformed("header-member");
    Object alg = header.get("alg");
    Object kid = header.get("kid");
    if (!(alg instanceof String algText)) throw TicketException.malformed("header-alg");
    if (!(kid instanceof String kidText) || !Ids.KID.matcher(kidText).matches()) throw TicketException.malformed("header-kid");
    if (!TYP.equals(header.get("typ"))) throw TicketException.malformed("header-typ");
    TicketAlgorithm algorithm = TicketAlgorithm.fromHeader(algText);
    if (algorithm == null) {
      throw new TicketException(TicketErrorCode.ERR_TICKET_ALG, "ticket algorithm is not allowed", "none".equals(algText) ? "none" : "unsupported");
    }
    return new Header(algorithm, kidText);
  }

  private static boolean isString(Object value, Pattern pattern) {
    return value instanceof String s && pattern.matcher(s).matches();
  }

  private static long numericDate(Object value, String reason) {
    if (!(value instanceof Json.Num n) || !n.isSafeNonNegativeInteger()) throw TicketException.malformed(reason);
    return (long) n.value;
  }

  private static StateClaim parseState(Object value) {
    if (!(value instanceof Map<?, ?> st)) throw TicketException.malformed("claim-st");
    Set<Object> keys = new TreeSet<>(st.keySet());
    if (keys.equals(Set.of("in"))) {
      if (!(st.get("in") instanceof String in) || Base64Url.decodeStrict(in) == null) throw TicketException.malformed("claim-st-in");
      return new StateClaim(in, null, 0, null);
    }
    if (keys.equals(Set.of("len", "ref", "sha256"))) {
      if (!isString(st.get("ref"), Ids.STATE_REF)) throw TicketException.malformed("claim-st-ref");
      if (!(st.get("len") instanceof Json.Num len) || !len.isSafeNonNegativeInteger() || len.value > MAX_STATE_REF_LENGTH) {
        throw TicketException.malformed("claim-st-len");
      }
      Object sha = st.get("sha256");
      if (!isString(sha, SHA256_B64U) || Base64Url.decodeStrict((String) sha) == null) throw TicketException.malformed("claim-st-sha256");
      return new StateClaim(null, (String) st.get("ref"), (long) len.value, (String) sha);
    }
    throw TicketException.malformed("claim-st");
  }

  /** Parses and type-checks the claims (closed set; docs/tickets.md, "Claims"). */
  static Claims parseClaims(String segment) {
    Map<String, Object> claims = jsonObject(segment, "payload");
    for (String key : claims.keySet()) if (!CLAIM_MEMBERS.contains(key)) throw TicketException.malformed("claim-unknown");
    Object iss = claims.get("iss");
    Object aud = claims.get("aud");
    Object sub = claims.get("sub");
    Object jti = claims.get("jti");
    if (!isString(iss, Ids.BACKEND_ID)) throw TicketException.malformed("claim-iss");
    if (!isString(aud, Ids.BACKEND_ID)) throw TicketException.malformed("claim-aud");
    if (!isString(sub, Ids.CLIENT_UUID)) throw TicketException.malformed("claim-sub");
    if (!isString(jti, NONCE) || Base64Url.decodeStrict((String) jti) == null) throw TicketException.malformed("claim-jti");
    long iat = numericDate(claims.get("iat"), "claim-iat");
    long exp = numericDate(claims.get("exp"), "claim-exp");
    if (exp <= iat) throw TicketException.malformed("claim-exp-before-iat");
    Object pool = claims.get("pool");
    Object sid = claims.get("sid");
    if (claims.containsKey("pool") && !isString(pool, Ids.BACKEND_ID)) throw TicketException.malformed("claim-pool");
    if (claims.containsKey("sid") && !isString(sid, Ids.SESSION_ID)) throw TicketException.malformed("claim-sid");
    StateClaim st = claims.containsKey("st") ? parseState(claims.get("st")) : null;
    return new Claims((String) iss, (String) aud, (String) sub, (String) jti, iat, exp, (String) pool, (String) sid, st);
  }

  // ---------------------------------------------------------------- encoding

  /** The canonical header JSON: alg, kid, typ; no whitespace. */
  static String encodeHeader(TicketAlgorithm alg, String kid) {
    StringBuilder out = new StringBuilder(80).append("{\"alg\":");
    Json.writeString(out, alg.name()).append(",\"kid\":");
    Json.writeString(out, kid).append(",\"typ\":");
    return Json.writeString(out, TYP).append('}').toString();
  }

  /** The canonical claims JSON: iss, aud, sub, jti, iat, exp, pool, sid, st; no whitespace. */
  static String encodeClaims(Claims c) {
    StringBuilder out = new StringBuilder(256).append("{\"iss\":");
    Json.writeString(out, c.iss()).append(",\"aud\":");
    Json.writeString(out, c.aud()).append(",\"sub\":");
    Json.writeString(out, c.sub()).append(",\"jti\":");
    Json.writeString(out, c.jti()).append(",\"iat\":").append(c.iat()).append(",\"exp\":").append(c.exp());
    if (c.pool() != null) Json.writeString(out.append(",\"pool\":"), c.pool());
    if (c.sid() != null) Json.writeString(out.append(",\"sid\":"), c.sid());
    StateClaim st = c.st();
    if (st != null) {
      if (st.in() != null) Json.writeString(out.append(",\"st\":{\"in\":"), st.in()).append('}');
      else {
        Json.writeString(out.append(",\"st\":{\"ref\":"), st.ref()).append(",\"len\":").append(st.len()).append(",\"sha256\":");
        Json.writeString(out, st.sha256()).append('}');
      }
    }
    return out.append('}').toString();
  }

  /** Exact length of a compact ticket with these JSON texts, signed with {@code alg}. */
  static int compactLength(String headerJson, String claimsJson, TicketAlgorithm alg) {
    return b64len(headerJson.getBytes(StandardCharsets.UTF_8).length) + 1 + b64len(claimsJson.getBytes(StandardCharsets.UTF_8).length) + 1
        + b64len(alg.signatureBytes());
  }

  private static int b64len(int n) {
    return (n * 4 + 2) / 3;
  }
}
