package dev.handoff.tickets;

import java.util.Base64;

/** Unpadded base64url (RFC 4648 §5), strict on input. Internal. */
final class Base64Url {
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  private Base64Url() {}

  static String encode(byte[] bytes) {
    return ENCODER.encodeToString(bytes);
  }

  static boolean isAlphabet(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
    }
    return true;
  }

  /**
   * Decodes canonical unpadded base64url, or returns null: characters outside the alphabet, {@code =},
   * a length of 1 (mod 4) and non-zero unused trailing bits are all refused.
   */
  static byte[] decodeStrict(String text) {
    if (!isAlphabet(text) || text.length() % 4 == 1) return null;
    byte[] bytes;
    try {
      bytes = DECODER.decode(text);
    } catch (IllegalArgumentException e) {
      return null;
    }
    return ENCODER.encodeToString(bytes).equals(text) ? bytes : null;
  }
}
