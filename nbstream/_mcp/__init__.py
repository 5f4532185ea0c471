"""Tools from MCP servers, next to Python functions: ``Session(mcp=[MCPServer(...)])``, ``chat.add_mcp(...)``.

``MCPServer`` says how to reach a server (a command line, or a Streamable HTTP URL with headers); ``MCPServers``
(``session.mcp``) runs a session's servers and puts their tools in its ``ToolRegistry``, where each is an
``MCPTool``: a ``Tool`` whose schema is the server's and whose call goes to the server. A server whose tools
change is listed again and offered anew from the model's next step. The MCP SDK (``pip install
"nbstream[mcp]"``) is imported only when a server starts; nothing here needs it.

Modules: ``_server`` (the description), ``_connection`` (one server's client and lifecycle), ``_changes``
(listing its tools, again after each notice that they changed), ``_watch`` (what its messages say in passing:
their end, those notices), ``_tool`` (a tool, its validation and results), ``_servers`` (a session's servers
and the tools' names).
"""

from ._server import MCPServer, MCPServerError
from ._servers import MCPServers

__all__ = ["MCPServer", "MCPServerError", "MCPServers"]
