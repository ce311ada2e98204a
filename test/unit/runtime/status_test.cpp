// Tests of azr_status_t: codes, formatted messages, NULL as success.

#include "azr/azr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

TEST(Status, NullIsSuccess) {
  EXPECT_EQ(azr_status_code(nullptr), AZR_STATUS_OK);
  EXPECT_STREQ(azr_status_message(nullptr), "");
  azr_status_free(nullptr); // Must be a no-op.
}

TEST(Status, MakeOkReturnsNull) {
  EXPECT_EQ(azr_status_make(AZR_STATUS_OK, "ignored %d", 1), nullptr);
}

TEST(Status, CarriesCodeAndFormattedMessage) {
  azr_status_t status =
      azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                      "input '%s' has rank %d, expected %d", "image", 3, 4);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(azr_status_code(status), AZR_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(azr_status_message(status),
               "input 'image' has rank 3, expected 4");
  azr_status_free(status);
}

TEST(Status, LongMessagesAreNotTruncated) {
  std::string name(5000, 'x');
  azr_status_t status = azr_status_make(AZR_STATUS_NOT_FOUND,
                                        "no input named '%s'", name.c_str());
  EXPECT_EQ(std::string(azr_status_message(status)),
            "no input named '" + name + "'");
  azr_status_free(status);
}

TEST(Status, CodeNames) {
  EXPECT_STREQ(azr_status_code_name(AZR_STATUS_DATA_LOSS), "DATA_LOSS");
  EXPECT_STREQ(azr_status_code_name(AZR_STATUS_UNIMPLEMENTED), "UNIMPLEMENTED");
  EXPECT_STREQ(azr_status_code_name((azr_status_code_t)999), "UNKNOWN");
}

TEST(Version, IsSemantic) {
  std::string version = azr_version();
  EXPECT_EQ(std::count(version.begin(), version.end(), '.'), 2) << version;
}
