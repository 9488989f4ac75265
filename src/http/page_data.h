#pragma once
// Request parameters and data loading shared by the pages, the export and the JSON API.
#include <httplib.h>

#include "http/dashboard.h"
#include "view/pages.h"

namespace cs::http {

/// The window parameter: 7, 30 (default) or 90 days.
int window_param(const httplib::Request& req);
/// The overview's data; the chart series only when `charts` (the JSON API needs none).
view::OverviewModel load_overview(Dashboard& d, int window_days, bool charts = true);
/// The cases list's filters from ?status=&q=&sort=&cursor=&before= (unknown values ignored); the
/// search's keyed fragments under every key of `keys` (none when null).
store::CaseQuery case_query(const httplib::Request& req, const crypto::Keyring* keys);

}  // namespace cs::http
