package dev.handoff.tickets;

/** The two ticket algorithms. Every other {@code alg} value, {@code none} included, is refused. */
public enum TicketAlgorithm {
  /** Ed25519 (RFC 8037): backend A holds the private key, verifiers only the public key. */
  EdDSA(64),
  /** HMAC-SHA-256 with a shared secret of at least 32 bytes, inside one trust domain. */
  HS256(32);

  private final int signatureBytes;

  TicketAlgorithm(int signatureBytes) {
    this.signatureBytes = signatureBytes;
  }

  /** The signature length in bytes. */
  public int signatureBytes() {
    return signatureBytes;
  }

  static TicketAlgorithm fromHeader(String alg) {
    if ("EdDSA".equals(alg)) return EdDSA;
    if ("HS256".equals(alg)) return HS256;
    return null;
  }
}
