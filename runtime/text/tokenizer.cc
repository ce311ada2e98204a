//===- tokenizer.cc - BPE tokenizers from tokenizer.json ------------------===//
//
// Encoding runs the tokenizer.json pipeline: split the text on added tokens
// (matched verbatim), normalize the rest, pre-tokenize it into pieces, and
// merge each piece's symbols by BPE merge rank. Two BPE flavours cover the
// decoder families azc builds: byte-level (every byte mapped to a printable
// character first, as GPT-2 defined it; GPT-2, Llama 3, Qwen2) and
// SentencePiece-style (UTF-8 characters, unknown ones spelled as <0xNN>
// byte tokens; Llama 2, Mistral). Pre-tokenizer regexes are run with ICU,
// which has the Unicode classes and look-ahead they use. Decoding maps ids
// back to token strings and runs the decoder steps.
//
//===----------------------------------------------------------------------===//

#include "text/tokenizer.h"

#include <nlohmann/json.hpp>
#include <unicode/normalizer2.h>
#include <unicode/regex.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <climits>
#include <cstring>

using azr::text::Tokenizer;
using json = nlohmann::json;

namespace {

/// GPT-2's reversible map from bytes to printable code points.
std::vector<std::string> byteLevelAlphabet() {
  std::vector<int> codes(256, -1);
  for (int b = '!'; b <= '~'; ++b)
    codes[b] = b;
  for (int b = 0xA1; b <= 0xAC; ++b)
    codes[b] = b;
  for (int b = 0xAE; b <= 0xFF; ++b)
    codes[b] = b;
  int next = 256;
  std::vector<std::string> alphabet(256);
  for (int b = 0; b < 256; ++b) {
    int code = codes[b] >= 0 ? codes[b] : next++;
    icu::UnicodeString(UChar32(code)).toUTF8String(alphabet[b]);
  }
  return alphabet;
}

/// Splits UTF-8 `text` into characters (invalid bytes stand alone).
std::vector<std::string> utf8Characters(const std::string &text) {
  std::vector<std::string> chars;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = text[i];
    size_t n = c < 0x80         ? 1
               : (c >> 5) == 6  ? 2
               : (c >> 4) == 14 ? 3
               : (c >> 3) == 30 ? 4
                                : 1;
    if (i + n > text.size())
      n = 1;
    chars.push_back(text.substr(i, n));
    i += n;
  }
  return chars;
}

void replaceAll(std::string &text, const std::string &from,
                const std::string &to) {
  if (from.empty())
    return;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = text.find(from, pos)) != std::string::npos;
       pos = hit + from.size())
    out += text.substr(pos, hit - pos) + to;
  text = out + text.substr(pos);
}

} // namespace

namespace azr::text {

struct Tokenizer::Step {
  std::string type;
  std::string a, b;  ///< pattern/content, replacement
  bool flag = false; ///< add_prefix_space, use_regex, split...
  int64_t start = 0, stop = 0;
  std::unique_ptr<icu::RegexPattern> regex;
};

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::create(const std::string &text,
                                             const std::string &origin,
                                             std::string &error) {
  auto tokenizer = std::unique_ptr<Tokenizer>(new Tokenizer());
  try {
    if (!tokenizer->load(text, origin, error))
      return nullptr;
  } catch (const std::exception &e) {
    error = origin + ": malformed tokenizer.json: " + e.what();
    return nullptr;
  }
  return tokenizer;
}

bool Tokenizer::load(const std::string &text, const std::string &origin,
                     std::string &error) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    error = origin + ": not a JSON object";
    return false;
  }
  const json &model = root.at("model");
  std::string type = model.value("type", "BPE");
  if (type != "BPE") {
    error =
        origin + ": tokenizer model '" + type + "' is not supported (BPE is)";
    return false;
  }
  for (auto &[token, id] : model.at("vocab").items()) {
    vocab_[token] = id.get<int64_t>();
    if (size_t(id.get<int64_t>()) >= tokens_.size())
      tokens_.resize(size_t(id.get<int64_t>()) + 1);
    tokens_[size_t(id.get<int64_t>())] = token;
  }
  int64_t rank = 0;
  for (const json &merge : model.at("merges")) {
    std::string left, right;
    if (merge.is_string()) {
      std::string m = merge.get<std::string>();
      size_t space = m.find(' ', 1);
      if (space == std::string::npos) {
        error = origin + ": bad merge '" + m + "'";
        return false;
      }
      left = m.substr(0, space);
      right = m.substr(space + 1);
    } else {
      left = merge.at(0).get<std::string>();
      right = merge.at(1).get<std::string>();
    }
    ranks_[left + '\x01' + right] = rank++;
  }
  byteFallback_ = model.value("byte_fallback", false);
  if (model.contains("unk_token") && model["unk_token"].is_string())
    unknown_ = model["unk_token"].get<std::string>();

  for (const json &added : root.value("added_tokens", json::array())) {
    Added token;
    token.content = added.at("content").get<std::string>();
    token.id = added.at("id").get<int64_t>();
    token.special = added.value("special", false);
    if (size_t(token.id) >= tokens_.size())
      tokens_.resize(size_t(token.id) + 1);
    tokens_[size_t(token.id)] = token.content;
    vocab_[token.content] = token.id;
    if (token.special)
      special_.insert(token.id);
    added_.push_back(token);
  }
  // Longest first, so "<|im_start|>" wins over any shorter prefix.
  std::sort(added_.begin(), added_.end(), [](const Added &x, const Added &y) {
    return x.content.size() > y.content.size();
  });

  if (!readSteps(root["normalizer"], "normalizer", normalizers_, origin,
                 error) ||
      !readSteps(root["pre_tokenizer"], "pre_tokenizer", preTokenizers_, origin,
                 error) ||
      !readSteps(root["decoder"], "decoder", decoders_, origin, error))
    return false;
  for (const Step &step : preTokenizers_)
    byteLevel_ |= step.type == "ByteLevel";
  // A BOS added by the post-processor ("TemplateProcessing": single).
  const json &post = root["post_processor"];
  if (post.is_object() && post.value("type", "") == "TemplateProcessing")
    for (const json &piece : post.at("single")) {
      if (!piece.contains("SpecialToken"))
        break;
      std::string id = piece["SpecialToken"].at("id").get<std::string>();
      auto it = vocab_.find(id);
      if (it != vocab_.end())
        prefix_.push_back(it->second);
    }
  return true;
}

bool Tokenizer::readSteps(const json &node, const char *what,
                          std::vector<Step> &steps, const std::string &origin,
                          std::string &error) {
  if (node.is_null())
    return true;
  std::string type = node.value("type", "");
  if (type == "Sequence") {
    const char *key = node.contains("normalizers")     ? "normalizers"
                      : node.contains("pretokenizers") ? "pretokenizers"
                                                       : "decoders";
    for (const json &child : node.at(key))
      if (!readSteps(child, what, steps, origin, error))
        return false;
    return true;
  }
  Step step;
  step.type = type;
  auto pattern = [&](const json &p) -> std::string {
    if (p.contains("String"))
      return p["String"].get<std::string>();
    return p.at("Regex").get<std::string>();
  };
  std::string kind = what;
  if (kind == "normalizer") {
    if (type == "Prepend") {
      step.a = node.at("prepend").get<std::string>();
    } else if (type == "Replace") {
      if (!node.at("pattern").contains("String")) {
        error = origin + ": Replace normalizer with a regex is not supported";
        return false;
      }
      step.a = pattern(node.at("pattern"));
      step.b = node.at("content").get<std::string>();
    } else if (type != "NFC" && type != "NFKC") {
      error = origin + ": normalizer '" + type + "' is not supported";
      return false;
    }
  } else if (kind == "pre_tokenizer") {
    if (type == "ByteLevel") {
      step.flag = node.value("add_prefix_space", false);
      if (node.value("use_regex", true)) {
        // GPT-2's pattern.
        step.a = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| "
                 "?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
      }
    } else if (type == "Split") {
      step.a = pattern(node.at("pattern"));
      if (!node.at("pattern").contains("Regex")) {
        // A literal: escape it for the regex engine.
        std::string quoted = "\\Q" + step.a + "\\E";
        step.a = quoted;
      }
      std::string behavior = node.value("behavior", "Isolated");
      if (behavior != "Isolated" || node.value("invert", false)) {
        error = origin + ": Split behavior '" + behavior +
                "' is not supported (Isolated is)";
        return false;
      }
    } else if (type == "Metaspace") {
      step.a = node.value("replacement", "\xe2\x96\x81");
      std::string scheme =
          node.value("prepend_scheme",
                     node.value("add_prefix_space", true) ? "always" : "never");
      step.b = scheme;
      step.flag = node.value("split", true);
    } else if (type == "Digits") {
      if (!node.value("individual_digits", false))
        return true;
      step.a = "\\p{Nd}";
    } else {
      error = origin + ": pre_tokenizer '" + type + "' is not supported";
      return false;
    }
    if (!step.a.empty() && type != "Metaspace") {
      UErrorCode status = U_ZERO_ERROR;
      UParseError parse;
      step.regex.reset(icu::RegexPattern::compile(
          icu::UnicodeString::fromUTF8(step.a), 0, parse, status));
      if (U_FAILURE(status)) {
        error = origin + ": pre_tokenizer pattern does not compile: " +
                u_errorName(status);
        return false;
      }
    }
  } else { // decoder
    if (type == "Replace") {
      step.a = pattern(node.at("pattern"));
      step.b = node.at("content").get<std::string>();
    } else if (type == "Strip") {
      step.a = node.value("content", " ");
      step.start = node.value("start", 0);
      step.stop = node.value("stop", 0);
    } else if (type == "Metaspace") {
      step.a = node.value("replacement", "\xe2\x96\x81");
      step.b =
          node.value("prepend_scheme",
                     node.value("add_prefix_space", true) ? "always" : "never");
    } else if (type != "ByteLevel" && type != "ByteFallback" &&
               type != "Fuse") {
      error = origin + ": decoder '" + type + "' is not supported";
      return false;
    }
  }
  steps.push_back(std::move(step));
  return true;
}

std::string Tokenizer::normalize(std::string text) const {
  for (const Step &step : normalizers_) {
    if (step.type == "Prepend") {
      if (!text.empty())
        text = step.a + text;
    } else if (step.type == "Replace") {
      replaceAll(text, step.a, step.b);
    } else { // NFC / NFKC
      UErrorCode status = U_ZERO_ERROR;
      const icu::Normalizer2 *n =
          step.type == "NFC" ? icu::Normalizer2::getNFCInstance(status)
                             : icu::Normalizer2::getNFKCInstance(status);
      if (U_SUCCESS(status)) {
        icu::UnicodeString out =
            n->normalize(icu::UnicodeString::fromUTF8(text), status);
        if (U_SUCCESS(status)) {
          text.clear();
          out.toUTF8String(text);
        }
      }
    }
  }
  return text;
}

/// Runs one regex split (Isolated: matches and the gaps between them are
/// pieces) over every piece.
static std::vector<std::string> splitBy(const icu::RegexPattern &pattern,
                                        const std::vector<std::string> &in) {
  std::vector<std::string> out;
  for (const std::string &piece : in) {
    icu::UnicodeString text = icu::UnicodeString::fromUTF8(piece);
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> matcher(pattern.matcher(text, status));
    int32_t last = 0;
    auto emit = [&](int32_t begin, int32_t end) {
      if (end <= begin)
        return;
      std::string s;
      text.tempSubStringBetween(begin, end).toUTF8String(s);
      out.push_back(s);
    };
    while (U_SUCCESS(status) && matcher->find(status)) {
      int32_t begin = matcher->start(status), end = matcher->end(status);
      if (end == begin)
        continue;
      emit(last, begin);
      emit(begin, end);
      last = end;
    }
    emit(last, text.length());
  }
  return out;
}

std::vector<std::string> Tokenizer::preTokenize(const std::string &text,
                                                bool atStart) const {
  std::vector<std::string> pieces = {text};
  for (const Step &step : preTokenizers_) {
    if (step.type == "Metaspace") {
      std::vector<std::string> next;
      for (std::string piece : pieces) {
        replaceAll(piece, " ", step.a);
        bool prepend = step.b == "always" || (step.b == "first" && atStart);
        if (prepend && piece.compare(0, step.a.size(), step.a) != 0)
          piece = step.a + piece;
        if (!step.flag) {
          next.push_back(piece);
          continue;
        }
        // Each piece starts at a replacement character.
        size_t begin = 0;
        for (size_t hit = piece.find(step.a, 1); hit != std::string::npos;
             hit = piece.find(step.a, hit + 1)) {
          next.push_back(piece.substr(begin, hit - begin));
          begin = hit;
        }
        next.push_back(piece.substr(begin));
      }
      pieces = next;
      continue;
    }
    if (step.type == "ByteLevel" && step.flag && atStart && !pieces.empty() &&
        pieces.front().compare(0, 1, " ") != 0)
      pieces.front() = " " + pieces.front();
    if (step.regex)
      pieces = splitBy(*step.regex, pieces);
  }
  return pieces;
}

void Tokenizer::encodePiece(const std::string &piece,
                            std::vector<int64_t> &ids) const {
  // Symbols: byte-level characters, or UTF-8 characters.
  std::vector<std::string> symbols;
  if (byteLevel_) {
    static const std::vector<std::string> alphabet = byteLevelAlphabet();
    for (unsigned char c : piece)
      symbols.push_back(alphabet[c]);
  } else {
    symbols = utf8Characters(piece);
  }
  // Repeatedly merge the adjacent pair of lowest rank.
  while (symbols.size() > 1) {
    int64_t best = INT64_MAX;
    size_t at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it = ranks_.find(symbols[i] + '\x01' + symbols[i + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        at = i;
      }
    }
    if (best == INT64_MAX)
      break;
    symbols[at] += symbols[at + 1];
    symbols.erase(symbols.begin() + long(at) + 1);
  }
  for (const std::string &symbol : symbols) {
    auto it = vocab_.find(symbol);
    if (it != vocab_.end()) {
      ids.push_back(it->second);
      continue;
    }
    if (byteFallback_) {
      bool all = true;
      std::vector<int64_t> bytes;
      for (unsigned char c : symbol) {
        char name[8];
        snprintf(name, sizeof(name), "<0x%02X>", c);
        auto b = vocab_.find(name);
        all &= b != vocab_.end();
        if (b != vocab_.end())
          bytes.push_back(b->second);
      }
      if (all) {
        ids.insert(ids.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    auto unk = vocab_.find(unknown_);
    if (unk != vocab_.end())
      ids.push_back(unk->second);
  }
}

std::vector<int64_t> Tokenizer::encode(const std::string &text,
                                       bool addSpecial) const {
  std::vector<int64_t> ids;
  if (addSpecial)
    ids = prefix_;
  // Added tokens are matched verbatim before anything else.
  size_t pos = 0;
  bool atStart = true;
  auto encodeSpan = [&](const std::string &span) {
    if (span.empty())
      return;
    for (const std::string &piece : preTokenize(normalize(span), atStart))
      if (!piece.empty())
        encodePiece(piece, ids);
    atStart = false;
  };
  while (pos < text.size()) {
    size_t next = std::string::npos;
    const Added *hit = nullptr;
    for (const Added &token : added_) {
      size_t at = text.find(token.content, pos);
      if (at != std::string::npos && (at < next || (at == next && !hit))) {
        next = at;
        hit = &token;
      }
    }
    if (!hit) {
      encodeSpan(text.substr(pos));
      break;
    }
    encodeSpan(text.substr(pos, next - pos));
    ids.push_back(hit->id);
    atStart = false;
    pos = next + hit->content.size();
  }
  return ids;
}

std::string validUtf8(const std::string &bytes) {
  // Each maximal ill-formed subsequence becomes one U+FFFD, as Unicode
  // recommends and as tokenizers' decoders (Rust's from_utf8_lossy) do.
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  size_t i = 0, n = bytes.size();
  while (i < n) {
    uint8_t c = uint8_t(bytes[i]);
    size_t length = c < 0x80                 ? 1
                    : c >= 0xC2 && c <= 0xDF ? 2
                    : c >= 0xE0 && c <= 0xEF ? 3
                    : c >= 0xF0 && c <= 0xF4 ? 4
                                             : 0;
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t k = 1;
    for (; k < length && i + k < n; ++k) {
      uint8_t b = uint8_t(bytes[i + k]);
      uint8_t low = 0x80, high = 0xBF;
      if (k == 1) {
        if (c == 0xE0)
          low = 0xA0;
        if (c == 0xED)
          high = 0x9F;
        if (c == 0xF0)
          low = 0x90;
        if (c == 0xF4)
          high = 0x8F;
      }
      if (b < low || b > high)
        break;
    }
    if (k == length) {
      out.append(bytes, i, length);
    } else {
      out += kReplacement;
    }
    i += k;
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int64_t> &ids,
                              bool skipSpecial) const {
  return validUtf8(decodeBytes(ids, skipSpecial));
}

std::string Tokenizer::decodeBytes(const std::vector<int64_t> &ids,
                                   bool skipSpecial) const {
  std::vector<std::string> pieces;
  for (int64_t id : ids) {
    if (id < 0 || size_t(id) >= tokens_.size())
      continue;
    if (skipSpecial && special_.count(id))
      continue;
    pieces.push_back(tokens_[size_t(id)]);
  }
  static const std::vector<std::string> alphabet = byteLevelAlphabet();
  bool first = true;
  for (const Step &step : decoders_) {
    if (step.type == "ByteLevel") {
      static const std::map<std::string, unsigned char> reverse = [] {
        std::map<std::string, unsigned char> map;
        for (int b = 0; b < 256; ++b)
          map[alphabet[size_t(b)]] = (unsigned char)b;
        return map;
      }();
      for (std::string &piece : pieces) {
        std::string bytes;
        for (const std::string &c : utf8Characters(piece)) {
          auto it = reverse.find(c);
          bytes += it != reverse.end() ? std::string(1, char(it->second)) : c;
        }
        piece = bytes;
      }
    } else if (step.type == "Replace") {
      for (std::string &piece : pieces)
        replaceAll(piece, step.a, step.b);
    } else if (step.type == "ByteFallback") {
      for (std::string &piece : pieces) {
        unsigned value;
        if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 &&
            piece[5] == '>' && sscanf(piece.c_str() + 3, "%2x", &value) == 1)
          piece = std::string(1, char(value));
      }
    } else if (step.type == "Fuse") {
      std::string all;
      for (const std::string &piece : pieces)
        all += piece;
      pieces = {all};
    } else if (step.type == "Strip") {
      if (!pieces.empty()) {
        std::string &head = pieces.front();
        for (int64_t i = 0;
             i < step.start && head.compare(0, step.a.size(), step.a) == 0; ++i)
          head.erase(0, step.a.size());
      }
    } else if (step.type == "Metaspace") {
      for (std::string &piece : pieces) {
        replaceAll(piece, step.a, " ");
        if (first && step.b != "never" && !piece.empty() && piece[0] == ' ')
          piece.erase(0, 1);
        first = false;
      }
    }
  }
  std::string text;
  for (const std::string &piece : pieces)
    text += piece;
  return text;
}

int64_t Tokenizer::tokenId(const std::string &token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

} // namespace azr::text
