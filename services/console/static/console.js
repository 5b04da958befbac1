// Draw every chart of the page from the figure the server embedded next to it (the account's
// own data points); nothing is fetched from elsewhere.
(function () {
  "use strict";
  var config = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  };
  document.querySelectorAll("script.chart-figure").forEach(function (script) {
    var target = document.getElementById(script.dataset.target);
    if (!target || !window.Plotly) {
      return;
    }
    var figure = JSON.parse(script.textContent);
    window.Plotly.newPlot(target, figure.data, figure.layout, config);
  });
})();
