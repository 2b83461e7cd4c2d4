// libcurl (Debian: libcurl4-openssl-dev), linked only by the modules that make HTTP requests
// (http_client, http_async_client, ruxc, slack).
#include <curl/curl.h>
#include "curl_options.h"
