package dev.handoff.tickets;

import java.util.Locale;
import java.util.UUID;
import java.util.regex.Pattern;

/** Grammar of the identifiers a ticket carries (docs/tickets.md, "Claims"), with checked parsers. */
public final class Ids {
  /** Canonical lowercase UUID text, as a ticket's {@code sub} carries it ({@link UUID#toString()}). */
  public static final Pattern CLIENT_UUID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  /** Backend ids ({@code iss}, {@code aud}) and pool names: 1–64 of {@code A–Z a–z 0–9 . _ : -}. */
  public static final Pattern BACKEND_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
  /** Proxy session ids ({@code sid}): 1–128 of {@code A–Z a–z 0–9 . _ : -}. */
  public static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  /** Key ids: 1–128 of {@code A–Z a–z 0–9 . _ : ~ + / = -}. */
  public static final Pattern KID = Pattern.compile("[A-Za-z0-9._:~+/=-]{1,128}");
  /** By-reference state refs: 1–128 of {@code A–Z a–z 0–9 . _ : -}. */
  public static final Pattern STATE_REF = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  private static final Pattern ANY_CASE_UUID =
      Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  private Ids() {}

  static boolean matches(Pattern pattern, String value) {
    return value != null && pattern.matcher(value).matches();
  }

  /**
   * A client UUID in canonical form from its 8-4-4-4-12 hex text (any case).
   * @throws TicketException {@code ERR_TICKET_INVALID_ARGUMENT} for anything else
   */
  public static String clientUuid(String value) {
    if (!matches(ANY_CASE_UUID, value)) throw TicketException.invalid("client-uuid", "invalid client uuid");
    return value.toLowerCase(Locale.ROOT);
  }

  /** The canonical text of a UUID (never fails). */
  public static String clientUuid(UUID value) {
    if (value == null) throw TicketException.invalid("client-uuid", "invalid client uuid");
    return value.toString();
  }

  /** @throws TicketException {@code ERR_TICKET_INVALID_ARGUMENT} unless {@code value} is a valid backend id */
  public static String backendId(String value) {
    if (!matches(BACKEND_ID, value)) throw TicketException.invalid("backend-id", "invalid backend id");
    return value;
  }

  /** @throws TicketException {@code ERR_TICKET_INVALID_ARGUMENT} unless {@code value} is a valid pool name */
  public static String poolId(String value) {
    if (!matches(BACKEND_ID, value)) throw TicketException.invalid("pool-id", "invalid pool id");
    return value;
  }

  /** @throws TicketException {@code ERR_TICKET_INVALID_ARGUMENT} unless {@code value} is a valid session id */
  public static String sessionId(String value) {
    if (!matches(SESSION_ID, value)) throw TicketException.invalid("session-id", "invalid session id");
    return value;
  }
}
