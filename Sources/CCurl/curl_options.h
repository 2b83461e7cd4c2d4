// Typed front ends of libcurl's variadic calls (curl_easy_setopt, curl_easy_getinfo), which
// Swift cannot call directly. One function per argument type libcurl takes.
#ifndef SWIFTLET_CURL_OPTIONS_H
#define SWIFTLET_CURL_OPTIONS_H
#include <curl/curl.h>

static inline CURLcode swiftlet_curl_setopt_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode swiftlet_curl_setopt_pointer(CURL *curl, CURLoption option, const void *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode swiftlet_curl_setopt_write_function(
    CURL *curl, size_t (*function)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, function);
}

static inline CURLcode swiftlet_curl_getinfo_long(CURL *curl, CURLINFO info, long *value) {
    return curl_easy_getinfo(curl, info, value);
}

static inline CURLcode swiftlet_curl_getinfo_double(CURL *curl, CURLINFO info, double *value) {
    return curl_easy_getinfo(curl, info, value);
}

static inline CURLcode swiftlet_curl_getinfo_string(CURL *curl, CURLINFO info, const char **value) {
    return curl_easy_getinfo(curl, info, value);
}
#endif
