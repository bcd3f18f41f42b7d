/* Registration forms: show only the chosen kind's subkinds, the secret readers only for a
 * secret letter, and the e-mail box only for the e-mail channel. Works without it too. */
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  /* CSSOM, not a class: .form-row sets display, and the CSP forbids style attributes. */
  function show(el, on) { el.style.display = on ? "" : "none"; }

  function filterSubkinds() {
    var kind = $("id_kind"), sub = $("id_subkind"), row = $("row-subkind");
    if (!kind || !sub) return;
    var any = false;
    Array.prototype.forEach.call(sub.options, function (opt) {
      var kinds = (opt.getAttribute("data-kind") || "").split(" ");
      var show = opt.value === "" || kinds.indexOf(kind.value) >= 0;
      opt.hidden = !show; opt.disabled = !show;
      if (show && opt.value) any = true;
      if (!show && opt.selected) sub.value = "";
    });
    if (row) show(row, any);
  }

  function toggleReaders() {
    var secrecy = $("id_secrecy"), row = $("row-secret_readers");
    if (secrecy && row) show(row, secrecy.value !== "0");
  }

  function toggleAddresses() {
    document.querySelectorAll("tr.recipient-row").forEach(function (tr) {
      var channel = tr.querySelector("select[name$='-channel']");
      var address = tr.querySelector("input[name$='-address']");
      if (channel && address) show(address, channel.value === "email");
    });
  }

  /* Another recipient row: a copy of the last one, renumbered, emptied. */
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
        if (/-channel$/.test(el.name)) el.addEventListener("change", toggleAddresses);
      } else { el.value = ""; }
    });
    copy.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
    last.parentNode.appendChild(copy);
    total.value = String(index + 1);
    toggleAddresses();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var add = $("add-recipient");
    if (add) add.addEventListener("click", addRecipient);
    var kind = $("id_kind"), secrecy = $("id_secrecy");
    if (kind) kind.addEventListener("change", filterSubkinds);
    if (secrecy) secrecy.addEventListener("change", toggleReaders);
    document.querySelectorAll("select[name$='-channel']").forEach(function (s) {
      s.addEventListener("change", toggleAddresses);
    });
    filterSubkinds(); toggleReaders(); toggleAddresses();
  });
})();
