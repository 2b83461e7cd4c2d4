// Typed wrappers around libcurl's variadic calls (curl_easy_setopt, curl_easy_getinfo), which
// Swift cannot call, for the http_async_client module. The library itself is the `CCurl`
// target's (libcurl4-openssl-dev).
#include <curl/curl.h>

typedef size_t (*swiftlet_hac_data_cb)(char *data, size_t size, size_t count, void *user);

static inline CURLcode swiftlet_hac_setopt_long(CURL *easy, CURLoption option, long value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode swiftlet_hac_setopt_pointer(CURL *easy, CURLoption option, const void *value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode swiftlet_hac_setopt_offset(CURL *easy, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode swiftlet_hac_setopt_callback(CURL *easy, CURLoption option, swiftlet_hac_data_cb value) {
    return curl_easy_setopt(easy, option, value);
}

static inline long swiftlet_hac_info_long(CURL *easy, CURLINFO info) {
    long value = 0;
    if (curl_easy_getinfo(easy, info, &value) != CURLE_OK) return 0;
    return value;
}

/// A time of the transfer in microseconds (CURLINFO_*_TIME_T), 0 when unknown.
static inline curl_off_t swiftlet_hac_info_time(CURL *easy, CURLINFO info) {
    curl_off_t value = 0;
    if (curl_easy_getinfo(easy, info, &value) != CURLE_OK) return 0;
    return value;
}

typedef int (*swiftlet_hac_debug_cb)(CURL *easy, curl_infotype type, char *data, size_t size, void *user);

static inline CURLcode swiftlet_hac_setopt_debug(CURL *easy, swiftlet_hac_debug_cb value) {
    return curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, value);
}
