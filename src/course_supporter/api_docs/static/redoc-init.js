// Starts ReDoc from a file rather than an inline script, so the page's CSP can forbid inline code;
// the page's nonce lets ReDoc's generated <style> elements through that CSP.
(function () {
  const root = document.getElementById("redoc");
  Redoc.init(root.dataset.openapiUrl, { nonce: root.dataset.nonce }, root);
})();
