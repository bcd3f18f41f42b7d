/* Registration forms: show only the chosen kind's subkinds, the secret readers only for a
 * secret letter, and the e-mail box only for the e-mail channel. Works without it too. */
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }

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
    if (row) row.classList.toggle("hidden", !any);
  }

  function toggleReaders() {
    var secrecy = $("id_secrecy"), row = $("row-secret_readers");
    if (secrecy && row) row.classList.toggle("hidden", secrecy.value === "0");
  }

  function toggleAddresses() {
    document.querySelectorAll("tr.recipient-row").forEach(function (tr) {
      var channel = tr.querySelector("select[name$='-channel']");
      var address = tr.querySelector("input[name$='-address']");
      if (channel && address) address.classList.toggle("hidden", channel.value !== "email");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var kind = $("id_kind"), secrecy = $("id_secrecy");
    if (kind) kind.addEventListener("change", filterSubkinds);
    if (secrecy) secrecy.addEventListener("change", toggleReaders);
    document.querySelectorAll("select[name$='-channel']").forEach(function (s) {
      s.addEventListener("change", toggleAddresses);
    });
    filterSubkinds(); toggleReaders(); toggleAddresses();
  });
})();
