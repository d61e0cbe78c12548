package dev.handoff.tickets;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict JSON reader (RFC 8259, the grammar JavaScript's {@code JSON.parse} accepts) and the few
 * writing helpers the issuer needs. Values: {@link Map} (insertion-ordered), {@link List},
 * {@link String}, {@link Num}, {@link Boolean} and {@link #NULL}. Duplicate member names keep the last
 * value, as {@code JSON.parse} does, so this library and {@code @handoff/tickets} read every ticket
 * the same way. Nesting deeper than {@link #MAX_DEPTH} is refused (no ticket or key set needs it).
 * Internal: not part of the API.
 */
final class Json {
  /** Deepest nesting accepted. */
  static final int MAX_DEPTH = 32;
  /** The JSON {@code null}. */
  static final Object NULL = new Object() {
    @Override
    public String toString() {
      return "null";
    }
  };

  /** A JSON number: its IEEE double value, as JavaScript reads it. */
  static final class Num {
    final double value;

    Num(double value) {
      this.value = value;
    }

    /** True for an integer in 0 .. 2^53 - 1 (JavaScript's {@code Number.isSafeInteger(v) && v >= 0}). */
    boolean isSafeNonNegativeInteger() {
      return value >= 0 && value <= 9007199254740991d && value == Math.rint(value);
    }
  }

  /** Thrown for text that is not JSON; carries no part of the text. */
  static final class ParseException extends Exception {
    private static final long serialVersionUID = 1L;

    ParseException() {
      super("invalid JSON", null, false, false);
    }
  }

  private final String text;
  private int pos;

  private Json(String text) {
    this.text = text;
  }

  /** Parses a complete JSON text. */
  static Object parse(String text) throws ParseException {
    Json reader = new Json(text);
    reader.skipWhitespace();
    Object value = reader.value(0);
    reader.skipWhitespace();
    if (reader.pos != text.length()) throw new ParseException();
    return value;
  }

  private void skipWhitespace() {
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++;
      else break;
    }
  }

  private Object value(int depth) throws ParseException {
    if (pos >= text.length()) throw new ParseException();
    char c = text.charAt(pos);
    switch (c) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string();
      case 't':
        literal("true");
        return Boolean.TRUE;
      case 'f':
        literal("false");
        return Boolean.FALSE;
      case 'n':
        literal("null");
        return NULL;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        throw new ParseException();
    }
  }

  private void literal(String word) throws ParseException {
    if (!text.startsWith(word, pos)) throw new ParseException();
    pos += word.length();
  }

  private Map<String, Object> object(int depth) throws ParseException {
    if (depth > MAX_DEPTH) throw new ParseException();
    pos++; // {
    Map<String, Object> out = new LinkedHashMap<>();
    skipWhitespace();
    if (pos < text.length() && text.charAt(pos) == '}') {
      pos++;
      return out;
    }
    while (true) {
      skipWhitespace();
      if (pos >= text.length() || text.charAt(pos) != '"') throw new ParseException();
      String name = string();
      skipWhitespace();
      if (pos >= text.length() || text.charAt(pos) != ':') throw new ParseException();
      pos++;
      skipWhitespace();
      out.put(name, value(depth));
      skipWhitespace();
      if (pos >= text.length()) throw new ParseException();
      char c = text.charAt(pos++);
      if (c == '}') return out;
      if (c != ',') throw new ParseException();
    }
  }

  private List<Object> array(int depth) throws ParseException {
    if (depth > MAX_DEPTH) throw new ParseException();
    pos++; // [
    List<Object> out = new ArrayList<>();
    skipWhitespace();
    if (pos < text.length() && text.charAt(pos) == ']') {
      pos++;
      return out;
    }
    while (true) {
      skipWhitespace();
      out.add(value(depth));
      skipWhitespace();
      if (pos >= text.length()) throw new ParseException();
      char c = text.charAt(pos++);
      if (c == ']') return out;
      if (c != ',') throw new ParseException();
    }
  }

  private String string() throws ParseException {
    pos++; // opening quote
    StringBuilder out = null;
    int start = pos;
    while (true) {
      if (pos >= text.length()) throw new ParseException();
      char c = text.charAt(pos);
      if (c == '"') {
        String tail = text.substring(start, pos);
        pos++;
        return out == null ? tail : out.append(tail).toString();
      }
      if (c < 0x20) throw new ParseException();
      if (c != '\\') {
        pos++;
        continue;
      }
      if (out == null) out = new StringBuilder();
      out.append(text, start, pos);
      pos++;
      if (pos >= text.length()) throw new ParseException();
      char e = text.charAt(pos++);
      switch (e) {
        case '"': out.append('"'); break;
        case '\\': out.append('\\'); break;
        case '/': out.append('/'); break;
        case 'b': out.append('\b'); break;
        case 'f': out.append('\f'); break;
        case 'n': out.append('\n'); break;
        case 'r': out.append('\r'); break;
        case 't': out.append('\t'); break;
        case 'u': {
          if (pos + 4 > text.length()) throw new ParseException();
          int code = 0;
          for (int i = 0; i < 4; i++) {
            int digit = Character.digit(text.charAt(pos + i), 16);
            if (digit < 0 || text.charAt(pos + i) > 'f') throw new ParseException();
            code = code * 16 + digit;
          }
          pos += 4;
          out.append((char) code);
          break;
        }
        default:
          throw new ParseException();
      }
      start = pos;
    }
  }

  private Num number() throws ParseException {
    int start = pos;
    if (text.charAt(pos) == '-') pos++;
    if (pos >= text.length()) throw new ParseException();
    char c = text.charAt(pos);
    if (c == '0') pos++;
    else if (c >= '1' && c <= '9') digits();
    else throw new ParseException();
    if (pos < text.length() && text.charAt(pos) == '.') {
      pos++;
      if (digits() == 0) throw new ParseException();
    }
    if (pos < text.length() && (text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
      pos++;
      if (pos < text.length() && (text.charAt(pos) == '+' || text.charAt(pos) == '-')) pos++;
      if (digits() == 0) throw new ParseException();
    }
    // Java and JavaScript both round the decimal text to the nearest double.
    return new Num(Double.parseDouble(text.substring(start, pos)));
  }

  private int digits() {
    int start = pos;
    while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') pos++;
    return pos - start;
  }

  /** Appends {@code value} as a JSON string, escaped exactly as JavaScript's {@code JSON.stringify} does. */
  static StringBuilder writeString(StringBuilder out, String value) {
    out.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
          boolean loneSurrogate = Character.isSurrogate(c)
              && !(Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1)))
              && !(Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(value.charAt(i - 1)));
          if (c < 0x20 || loneSurrogate) out.append(String.format("\\u%04x", (int) c));
          else out.append(c);
      }
    }
    return out.append('"');
  }
}
