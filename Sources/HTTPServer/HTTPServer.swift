// A NIO-free HTTP/1.1 server on POSIX sockets: parsing, limits, timeouts, keep-alive, routing and SSE.
import Foundation
