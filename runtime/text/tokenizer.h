//===- tokenizer.h - BPE tokenizers from tokenizer.json --------*- C++ -*-===//

#ifndef AZR_TEXT_TOKENIZER_H
#define AZR_TEXT_TOKENIZER_H

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace azr::text {

/// `bytes` with each ill-formed UTF-8 subsequence replaced by U+FFFD.
std::string validUtf8(const std::string &bytes);

class Tokenizer {
public:
  /// Reads tokenizer.json text; null with `error` naming what is wrong.
  static std::unique_ptr<Tokenizer> create(const std::string &json,
                                           const std::string &origin,
                                           std::string &error);
  ~Tokenizer();

  std::vector<int64_t> encode(const std::string &text, bool addSpecial) const;
  /// The text of `ids`, valid UTF-8 (ill-formed bytes become U+FFFD).
  std::string decode(const std::vector<int64_t> &ids, bool skipSpecial) const;
  /// The bytes the tokens spell, which may end inside a character.
  std::string decodeBytes(const std::vector<int64_t> &ids,
                          bool skipSpecial) const;
  int64_t tokenId(const std::string &token) const;
  bool isSpecial(int64_t id) const { return special_.count(id) != 0; }

private:
  struct Step;
  struct Added {
    std::string content;
    int64_t id;
    bool special;
  };

  Tokenizer();
  bool load(const std::string &json, const std::string &origin,
            std::string &error);
  bool readSteps(const nlohmann::json &node, const char *what,
                 std::vector<Step> &steps, const std::string &origin,
                 std::string &error);
  std::string normalize(std::string text) const;
  std::vector<std::string> preTokenize(const std::string &text,
                                       bool atStart) const;
  void encodePiece(const std::string &piece, std::vector<int64_t> &ids) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> tokens_;                ///< by id
  std::unordered_map<std::string, int64_t> ranks_; ///< "left\x01right"
  std::vector<Added> added_;
  std::set<int64_t> special_;
  std::vector<int64_t> prefix_; ///< special tokens the post-processor adds
  std::vector<Step> normalizers_, preTokenizers_, decoders_;
  bool byteLevel_ = false, byteFallback_ = false;
  std::string unknown_;
};

} // namespace azr::text

/// The C API's tokenizer: the tokenizer and the ids that end generation.
struct azr_tokenizer_s {
  std::unique_ptr<azr::text::Tokenizer> tokenizer;
  std::vector<int64_t> eos; ///< from generation_config.json, or guessed
};

#endif // AZR_TEXT_TOKENIZER_H
