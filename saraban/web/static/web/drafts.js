/* Drafting screens: add recipient and reviewer rows, show the e-mail box only where it is
 * used. The compose form's live preview is plain htmx attributes. Works without it too. */
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  /* CSSOM, not a class: the CSP forbids style attributes. */
  function show(el, on) { el.style.display = on ? "" : "none"; }

  /* The e-mail address is used by the e-mail channel and by "auto" (e-mail when not reachable). */
  function toggleAddresses() {
    document.querySelectorAll("tr.recipient-row").forEach(function (tr) {
      var channel = tr.querySelector("select[name$='-channel']");
      var address = tr.querySelector("input[name$='-address']");
      if (channel && address) show(address, channel.value === "email" || channel.value === "auto");
    });
  }

  function addRecipient() {
    var total = document.querySelector("input[name='rcpt-TOTAL_FORMS']");
    var rows = document.querySelectorAll("tr.recipient-row");
    if (!total || !rows.length) return;
    var index = parseInt(total.value, 10);
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    copy.querySelectorAll("input, select").forEach(function (el) {
      ["name", "id"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v) el.setAttribute(attr, v.replace(/rcpt-\d+-/, "rcpt-" + index + "-"));
      });
      if (el.tagName === "SELECT") {
        el.selectedIndex = 0;
        if (/-channel$/.test(el.name)) {
          el.value = "auto";
          el.addEventListener("change", toggleAddresses);
        }
      } else { el.value = ""; }
    });
    copy.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
    last.parentNode.appendChild(copy);
    total.value = String(index + 1);
    toggleAddresses();
  }

  function addReviewer() {
    var count = $("reviewer-rows");
    var rows = document.querySelectorAll(".reviewer-list .form-row");
    if (!count || !rows.length) return;
    var index = parseInt(count.value, 10);
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    copy.id = "row-reviewer_" + index;
    var label = copy.querySelector("label"), select = copy.querySelector("select");
    if (!select) return;
    select.name = "reviewer_" + index;
    select.id = "id_reviewer_" + index;
    select.selectedIndex = 0;
    if (label) {
      label.setAttribute("for", select.id);
      label.textContent = label.textContent.replace(/\d+\s*$/, String(index + 1));
    }
    copy.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
    copy.classList.remove("has-error");
    last.parentNode.appendChild(copy);
    count.value = String(index + 1);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var add = $("add-recipient");
    if (add) add.addEventListener("click", addRecipient);
    var addRev = $("add-reviewer");
    if (addRev) addRev.addEventListener("click", addReviewer);
    document.querySelectorAll("select[name$='-channel']").forEach(function (s) {
      s.addEventListener("change", toggleAddresses);
    });
    toggleAddresses();
  });
})();
