// Annex's GraphiQL bootstrap: reads its settings from the page's #graphiql element, so the
// page needs no inline script (its Content-Security-Policy allows only this origin).
(function () {
  var root = document.getElementById("graphiql");
  var endpoint = new URL(root.dataset.endpoint, window.location.origin).toString();
  var ws = new URL(root.dataset.subscriptionEndpoint, window.location.origin);
  ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: endpoint, subscriptionUrl: ws.toString() }),
      defaultHeaders: root.dataset.headersHint,
      defaultEditorToolsVisibility: true,
    })
  );
})();
