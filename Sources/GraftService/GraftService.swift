// The application: SQLite store, worker pool, job lifecycle, model registry and HTTP routes.
import Foundation
import HTTPServer
