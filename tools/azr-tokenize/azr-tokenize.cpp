//===- azr-tokenize.cpp - a tokenizer.json's ids for lines of text --------===//
//
//   azr-tokenize TOKENIZER (tokenizer.json or an engine) [--special]
//       reads lines from stdin; prints each line's ids, space-separated
//   azr-tokenize TOKENIZER --decode [--skip-special]
//       reads lines of ids; prints each line's text
//
// Lines are JSON strings on both sides ("text with \n escapes"), so any text
// survives the round trip. For checking libazr_text's tokenizers against
// others, and for looking at what a prompt becomes.
//
//===----------------------------------------------------------------------===//

#include "azr/azr_text.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

/// Minimal JSON string unescaping/escaping for one line.
bool unquote(const std::string &line, std::string &out) {
  if (line.size() < 2 || line.front() != '"' || line.back() != '"')
    return false;
  out.clear();
  for (size_t i = 1; i + 1 < line.size(); ++i) {
    char c = line[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i + 1 > line.size())
      return false;
    switch (line[i]) {
    case 'n':
      out += '\n';
      break;
    case 't':
      out += '\t';
      break;
    case 'r':
      out += '\r';
      break;
    case '"':
      out += '"';
      break;
    case '\\':
      out += '\\';
      break;
    case '/':
      out += '/';
      break;
    case 'u': {
      unsigned code = 0;
      if (i + 4 >= line.size() ||
          sscanf(line.c_str() + i + 1, "%4x", &code) != 1)
        return false;
      i += 4;
      if (code >= 0xD800 && code < 0xDC00 &&
          line.compare(i + 1, 2, "\\u") == 0) {
        unsigned low = 0;
        sscanf(line.c_str() + i + 3, "%4x", &low);
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        i += 6;
      }
      char buf[5] = {};
      if (code < 0x80)
        buf[0] = char(code);
      else if (code < 0x800) {
        buf[0] = char(0xC0 | code >> 6);
        buf[1] = char(0x80 | (code & 0x3F));
      } else if (code < 0x10000) {
        buf[0] = char(0xE0 | code >> 12);
        buf[1] = char(0x80 | ((code >> 6) & 0x3F));
        buf[2] = char(0x80 | (code & 0x3F));
      } else {
        buf[0] = char(0xF0 | code >> 18);
        buf[1] = char(0x80 | ((code >> 12) & 0x3F));
        buf[2] = char(0x80 | ((code >> 6) & 0x3F));
        buf[3] = char(0x80 | (code & 0x3F));
      }
      out += buf;
      break;
    }
    default:
      return false;
    }
  }
  return true;
}

std::string quote(const std::string &text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else
      out += char(c);
  }
  return out + "\"";
}

int fail(azr_status_t status) {
  fprintf(stderr, "azr-tokenize: %s\n", azr_status_message(status));
  azr_status_free(status);
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  std::string path;
  bool decode = false, special = false, skipSpecial = false;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--decode"))
      decode = true;
    else if (!strcmp(argv[i], "--special"))
      special = true;
    else if (!strcmp(argv[i], "--skip-special"))
      skipSpecial = true;
    else if (path.empty() && argv[i][0] != '-')
      path = argv[i];
    else {
      fprintf(stderr, "usage: azr-tokenize TOKENIZER [--special] | "
                      "[--decode [--skip-special]]\n");
      return 2;
    }
  }
  if (path.empty()) {
    fprintf(stderr, "usage: azr-tokenize TOKENIZER [--special] | "
                    "[--decode [--skip-special]]\n");
    return 2;
  }
  azr_tokenizer_t *tokenizer = nullptr;
  azr_engine_t *engine = nullptr;
  if (path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      fprintf(stderr, "azr-tokenize: %s: cannot read\n", path.c_str());
      return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string json = text.str();
    if (azr_status_t s = azr_tokenizer_create(json.data(), json.size(),
                                              path.c_str(), &tokenizer))
      return fail(s);
  } else {
    if (azr_status_t s = azr_engine_load(path.c_str(), &engine))
      return fail(s);
    if (azr_status_t s = azr_tokenizer_from_engine(engine, &tokenizer)) {
      azr_engine_release(engine);
      return fail(s);
    }
  }
  std::string line, text;
  int code = 0;
  while (std::getline(std::cin, line)) {
    if (decode) {
      std::vector<int64_t> ids;
      std::istringstream in(line);
      for (int64_t id; in >> id;)
        ids.push_back(id);
      size_t length = 0;
      azr_tokenizer_decode(tokenizer, ids.data(), ids.size(), skipSpecial,
                           nullptr, 0, &length);
      std::string out(length + 1, '\0');
      azr_tokenizer_decode(tokenizer, ids.data(), ids.size(), skipSpecial,
                           out.data(), out.size(), &length);
      out.resize(length);
      printf("%s\n", quote(out).c_str());
      continue;
    }
    if (!unquote(line, text)) {
      fprintf(stderr, "azr-tokenize: input lines must be JSON strings\n");
      code = 1;
      break;
    }
    size_t count = 0;
    azr_tokenizer_encode(tokenizer, text.data(), text.size(), special, nullptr,
                         0, &count);
    std::vector<int64_t> ids(count);
    azr_tokenizer_encode(tokenizer, text.data(), text.size(), special,
                         ids.data(), ids.size(), &count);
    for (size_t i = 0; i < ids.size(); ++i)
      printf(i ? " %lld" : "%lld", (long long)ids[i]);
    printf("\n");
  }
  azr_tokenizer_release(tokenizer);
  azr_engine_release(engine);
  return code;
}
