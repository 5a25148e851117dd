// RestBridge: the HTTP/1.1 server and the seed APIs over the Node store.
import Codec
import Node
