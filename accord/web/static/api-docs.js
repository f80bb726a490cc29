// The interactive API reference at /docs: Swagger UI, served by Accord itself.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // 130-odd operations: the tags open on demand (all open at once stalls the page).
    docExpansion: "none",
  });
});
