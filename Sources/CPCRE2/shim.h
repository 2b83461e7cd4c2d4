// PCRE2, 8-bit code units (Debian: libpcre2-dev), linked only by the regex module. The
// library's names are macros over the width-suffixed functions, which Swift cannot import:
// these wrappers call the 8-bit ones.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/// Compiles `pattern` (`length` bytes): the code, or NULL with the error code and offset.
static inline pcre2_code_8 *swiftlet_pcre2_compile(const char *pattern, size_t length, uint32_t options,
                                                   int *error, size_t *offset) {
    return pcre2_compile_8((PCRE2_SPTR8)pattern, length, options, error, offset, NULL);
}

/// Matches `subject` against `code` from the start: > 0 (or 0) on a match, PCRE2_ERROR_NOMATCH
/// or another negative error code otherwise.
static inline int swiftlet_pcre2_match(const pcre2_code_8 *code, const char *subject, size_t length) {
    pcre2_match_data_8 *data = pcre2_match_data_create_from_pattern_8(code, NULL);
    if (data == NULL) return PCRE2_ERROR_NOMEMORY;
    int rc = pcre2_match_8(code, (PCRE2_SPTR8)subject, length, 0, 0, data, NULL);
    pcre2_match_data_free_8(data);
    return rc;
}

static inline void swiftlet_pcre2_free(pcre2_code_8 *code) { pcre2_code_free_8(code); }

/// The text of an error code.
static inline int swiftlet_pcre2_error_message(int error, char *buffer, size_t size) {
    return pcre2_get_error_message_8(error, (PCRE2_UCHAR8 *)buffer, size);
}

static const int swiftlet_pcre2_error_nomatch = PCRE2_ERROR_NOMATCH;
static const uint32_t swiftlet_pcre2_caseless = PCRE2_CASELESS;
static const uint32_t swiftlet_pcre2_multiline = PCRE2_MULTILINE;
static const uint32_t swiftlet_pcre2_dotall = PCRE2_DOTALL;
static const uint32_t swiftlet_pcre2_extended = PCRE2_EXTENDED;
