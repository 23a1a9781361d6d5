/* Knowledge-base article: report the view (reading through GET changes nothing). */
(function () {
  "use strict";
  var article = document.getElementById("kb-article");
  if (!article || !article.dataset.viewUrl) { return; }
  window.socdrill.api.request("POST", article.dataset.viewUrl, {}).catch(function () {
    /* a view that cannot be recorded must not disturb reading */
  });
})();
