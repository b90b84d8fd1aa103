// Changing language reloads the page in the other language; what the person had typed into a
// form comes back with it. Values live in this tab's sessionStorage for one page load only, and
// a personal identity number or hidden field is never kept.
(function () {
  "use strict";
  var KEY = "meetsvc.keepform:";
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.type !== "hidden" && el.type !== "password" && el.type !== "submit" &&
        el.name !== "personal_number" && el.name !== "csrf";
    });
  }
  var switcher = document.querySelector("a.lang");
  var forms = document.querySelectorAll("form.stack");
  if (switcher && forms.length) {
    switcher.addEventListener("click", function () {
      var saved = [];
      forms.forEach(function (form, index) {
        var values = {};
        fields(form).forEach(function (el) {
          if (el.type === "checkbox" || el.type === "radio") { values[el.name + "=" + el.value] = el.checked; }
          else { values[el.name] = el.value; }
        });
        saved[index] = values;
      });
      try { sessionStorage.setItem(KEY + switcher.dataset.next, JSON.stringify(saved)); } catch (e) { /* private mode */ }
    });
  }
  var stored = null;
  try {
    stored = sessionStorage.getItem(KEY + location.pathname + location.search);
    sessionStorage.removeItem(KEY + location.pathname + location.search);
  } catch (e) { stored = null; }
  if (stored) {
    var saved = JSON.parse(stored);
    forms.forEach(function (form, index) {
      var values = saved[index] || {};
      fields(form).forEach(function (el) {
        var own = Object.prototype.hasOwnProperty;
        if (el.type === "checkbox" || el.type === "radio") {
          if (own.call(values, el.name + "=" + el.value)) { el.checked = values[el.name + "=" + el.value]; }
        } else if (own.call(values, el.name)) { el.value = values[el.name]; }
      });
    });
  }
})();
