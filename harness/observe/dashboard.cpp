#include "observe/dashboard.h"

#include <cstdio>
#include <sstream>

#include "reports/html_writer.h"
#include "reports/text.h"

namespace sockspec::observe {

namespace {

// Polls `live` each second and swaps the fragment in; counts its updates in
// body[data-updates] (a test reads it). When the run has finished it loads `/` once more,
// which is then the final report; when the endpoint has gone it says so and stops.
constexpr const char* kScript = R"(
var updates=0;
function refresh(){
  fetch('live',{cache:'no-store'}).then(function(r){if(!r.ok)throw r.status;return r.text();})
  .then(function(html){
    var live=document.getElementById('live');live.innerHTML=html;
    document.body.dataset.updates=String(++updates);
    if(live.querySelector('[data-finished="1"]')){location.reload();return;}
    setTimeout(refresh,1000);})
  .catch(function(){document.getElementById('state').textContent=
    'The endpoint does not answer: the run has ended. Its report is in the files it wrote.';});
}
document.addEventListener('DOMContentLoaded',function(){setTimeout(refresh,1000);});
)";

}  // namespace

std::string live_fragment(const reports::LoadResult& l, const RunLabels& labels,
                          const RunClock& clock) {
  std::ostringstream out;
  char where[160];
  if (clock.total_s == 0 && !clock.finished) {
    std::snprintf(where, sizeof where, "starting: connecting the virtual users");
  } else if (clock.elapsed_s < l.warmup_s) {
    std::snprintf(where, sizeof where, "warming up: %.0f of %.0f s", clock.elapsed_s, l.warmup_s);
  } else {
    std::snprintf(where, sizeof where, "running: %.0f of %.0f s (%.0f s warm-up not counted)",
                  clock.elapsed_s, clock.total_s, l.warmup_s);
  }
  out << "<p class=\"meta\" id=\"progress\" data-finished=\"" << (clock.finished ? 1 : 0)
      << "\" data-iterations=\"" << l.iterations << "\">" << (clock.finished ? "finished" : where)
      << " · run " << reports::markup_escape(labels.run_id);
  if (labels.shards > 1) out << " · shard " << labels.shard << "/" << labels.shards;
  out << "</p>";
  reports::write_load_section(l, out);
  return out.str();
}

std::string cases_page(const VerdictCounts& by_verdict, uint64_t planned, const RunLabels& labels) {
  uint64_t done = 0;
  for (const auto& [v, n] : by_verdict) done += n;
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta "
         "http-equiv=\"refresh\" content=\"1\"><title>sockspec run: "
      << reports::markup_escape(labels.target) << "</title><style>" << reports::html_style()
      << "</style></head><body><header><h1>sockspec conformance run — live</h1><div "
         "class=\"meta\">target <strong>"
      << reports::markup_escape(labels.target) << "</strong> · run "
      << reports::markup_escape(labels.run_id)
      << "</div></header>\n<main><section><p id=\"progress\" "
      << "data-done=\"" << done << "\">" << done << " of " << planned
      << " cases finished</p><div class=\"badges\">";
  for (const auto& [v, n] : by_verdict) {
    if (n) out << "<span class=\"v-" << v << "\">" << n << " " << v << "</span>";
  }
  out << "</div></section></main></body></html>\n";
  return out.str();
}

std::string dashboard_page(const std::string& fragment, const RunLabels& labels) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta "
         "name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>sockspec live: "
      << reports::markup_escape(labels.profile) << "</title><style>" << reports::html_style()
      << "</style><script>" << kScript << "</script></head><body data-updates=\"0\">\n"
      << "<header><h1>sockspec load run — live</h1><div class=\"meta\">profile <strong>"
      << reports::markup_escape(labels.profile) << "</strong> against <strong>"
      << reports::markup_escape(labels.target)
      << "</strong> · updated each second · <a href=\"metrics\">/metrics</a></div>"
      << "<div class=\"meta\" id=\"state\"></div></header>\n<main><div id=\"live\">" << fragment
      << "</div></main></body></html>\n";
  return out.str();
}

}  // namespace sockspec::observe
