#include "io/s3/s3_xml.h"

#include <cstdint>

namespace vecsafe::s3 {
namespace {

// Finds the next opening tag `<tag>` or `<tag ...>` at or after `from`;
// returns the position just past '>' or npos.
size_t FindOpen(std::string_view doc, std::string_view tag, size_t from, size_t* tag_start) {
  while (true) {
    size_t p = doc.find('<', from);
    if (p == std::string_view::npos) return p;
    if (doc.substr(p + 1, tag.size()) == tag && p + 1 + tag.size() < doc.size()) {
      char next = doc[p + 1 + tag.size()];
      if (next == '>' || next == ' ' || next == '\t' || next == '\n' || next == '\r') {
        size_t gt = doc.find('>', p);
        if (gt == std::string_view::npos) return gt;
        if (doc[gt - 1] == '/') {  // <tag/>: empty element, skip
          from = gt + 1;
          continue;
        }
        *tag_start = p;
        return gt + 1;
      }
    }
    from = p + 1;
  }
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x110000) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::string XmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back('&');
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") {
      out.push_back('&');
    } else if (ent == "lt") {
      out.push_back('<');
    } else if (ent == "gt") {
      out.push_back('>');
    } else if (ent == "quot") {
      out.push_back('"');
    } else if (ent == "apos") {
      out.push_back('\'');
    } else if (ent.size() >= 2 && ent[0] == '#') {
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      std::string_view digits = ent.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      bool ok = !digits.empty();
      for (char c : digits) {
        int d = -1;
        if (c >= '0' && c <= '9') d = c - '0';
        if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        if (d < 0 || cp > 0x10FFFF) {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
      }
      if (!ok) {
        out.push_back('&');
        continue;
      }
      AppendUtf8(out, cp);
    } else {
      out.push_back('&');
      continue;
    }
    i = semi;
  }
  return out;
}

std::vector<std::string_view> XmlAll(std::string_view doc, std::string_view tag) {
  std::vector<std::string_view> out;
  if (tag.empty()) return out;
  std::string close = "</" + std::string(tag) + ">";
  size_t from = 0;
  while (from < doc.size()) {
    size_t tag_start = 0;
    size_t open_end = FindOpen(doc, tag, from, &tag_start);
    if (open_end == std::string_view::npos) break;
    size_t end = doc.find(close, open_end);
    if (end == std::string_view::npos) break;
    out.push_back(doc.substr(open_end, end - open_end));
    from = end + close.size();
  }
  return out;
}

std::optional<std::string_view> XmlFirst(std::string_view doc, std::string_view tag) {
  if (tag.empty()) return std::nullopt;
  size_t tag_start = 0;
  size_t open_end = FindOpen(doc, tag, 0, &tag_start);
  if (open_end == std::string_view::npos) return std::nullopt;
  size_t end = doc.find("</" + std::string(tag) + ">", open_end);
  if (end == std::string_view::npos) return std::nullopt;
  return doc.substr(open_end, end - open_end);
}

std::string XmlText(std::string_view doc, std::string_view tag) {
  auto v = XmlFirst(doc, tag);
  return v ? XmlUnescape(*v) : std::string();
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace vecsafe::s3
