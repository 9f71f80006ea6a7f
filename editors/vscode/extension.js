// Starts `archc lsp` (stdio) for *.arch files. Settings: archc.command, archc.inlayHints.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const settings = vscode.workspace.getConfiguration("archc");
  const [command, ...args] = settings.get("command", ["archc", "lsp"]);
  client = new LanguageClient(
    "archc", "archc",
    { command, args },
    {
      documentSelector: [{ scheme: "file", language: "arch" }, { scheme: "untitled", language: "arch" }],
      initializationOptions: { inlayHints: settings.get("inlayHints", true) },
      synchronize: { configurationSection: "archc" },
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
