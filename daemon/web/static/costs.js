// The period form: its dates count only for "custom" (the RPC refuses them otherwise), so
// they are enabled, and sent, only then.
"use strict";
(function () {
  const form = document.getElementById("period");
  const period = form.querySelector("select[name=period]");
  const dates = form.querySelectorAll("input[type=date]");
  function follow() {
    for (const input of dates) input.disabled = period.value !== "custom";
  }
  period.addEventListener("change", follow);
  follow();
})();
