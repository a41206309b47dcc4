// The HTTP request for one job (docs/webhook.md, "The request"): the job's
// variables (or an envelope with the job's fields and its variables) as a
// JSON body, the job's identity in Treaty-* headers, then the configured
// headers.
//
// Thread-safety: pure function.
#pragma once

#include "http_client.h"
#include "treaty/v1/treaty.pb.h"
#include "webhook_config.h"

namespace treaty::webhook {

HttpRequest BuildJobRequest(const Endpoint& ep, const ::treaty::v1::Job& job);

}  // namespace treaty::webhook
