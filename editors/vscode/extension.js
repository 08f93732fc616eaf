// The convdsl extension: starts the language server (`convdsl lsp`) for .cdsl files.
// Highlighting comes from syntaxes/convdsl.tmLanguage.json and needs no server.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;
let output;

function serverCommand() {
  const config = vscode.workspace.getConfiguration("convdsl");
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  // `${workspaceFolder}` lets a project point at its own virtual environment.
  const expand = (text) => (folder ? text.split("${workspaceFolder}").join(folder.uri.fsPath) : text);
  const command = expand(config.get("server.path") || "convdsl");
  const args = (config.get("server.args") || ["lsp"]).map(expand);
  return { command, args };
}

async function start() {
  const { command, args } = serverCommand();
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "convdsl" },
      { scheme: "untitled", language: "convdsl" },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.cdsl,pyproject.toml}") },
    outputChannel: output,
  };
  client = new LanguageClient("convdsl", "convdsl language server", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    client = undefined;
    const message = err && err.message ? err.message : String(err);
    vscode.window.showErrorMessage(
      `convdsl: could not start the language server \`${[command, ...args].join(" ")}\`: ${message}. ` +
        "Install convdsl (`pip install convdsl`) or set `convdsl.server.path`."
    );
  }
}

async function stop() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

async function restart() {
  await stop();
  await start();
}

function activate(context) {
  output = vscode.window.createOutputChannel("convdsl");
  context.subscriptions.push(output);
  context.subscriptions.push(vscode.commands.registerCommand("convdsl.restartServer", restart));
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("convdsl.server")) {
        restart();
      }
    })
  );
  return start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
