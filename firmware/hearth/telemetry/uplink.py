"""MQTT 5 through paho-mqtt, with paho's network loop on its own thread.

The loop thread connects, reconnects with exponential backoff
(reconnect_delay_set) and moves bytes; the loop service only calls
publish() (which queues a packet and returns) and takes the
acknowledgements the thread collected (take_acks()). Nothing here waits on
the network, so no loop turn does.

QoS 1 with a persistent session (clean_start False, a session expiry), so
the broker keeps what it owes the device across a reconnect; paho resends
unacknowledged PUBLISHes (DUP) after one. paho keeps them only in memory:
the spool is what survives a reboot.
"""
import collections
import ssl
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SESSION_EXPIRY_S = 7 * 24 * 3600


class UplinkError(ValueError):
    """A broker URL or TLS setting that cannot work; the message says how to fix it."""


def parse_broker(url):
    """(host, port, tls) of mqtt://host[:1883] or mqtts://host[:8883]."""
    u = urlsplit(url)
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise UplinkError("broker %r: use mqtt://HOST[:PORT] or mqtts://HOST[:PORT]" % url)
    tls = u.scheme == "mqtts"
    return u.hostname, u.port or (8883 if tls else 1883), tls


class MqttUplink:
    def __init__(self, broker, client_id, ca=None, cert=None, key=None, keepalive=60,
                 min_delay_s=1, max_delay_s=120):
        self.host, self.port, self.tls = parse_broker(broker)
        self.client_id = client_id
        self.keepalive = keepalive
        self.connected = False
        self.connects = 0
        self.disconnects = 0
        self.last_error = ""
        self._acks = collections.deque()          # mids PUBACKed (appended by paho's thread)
        self._nacks = collections.deque()         # mids the broker refused (a PUBACK with an error code)
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        c.reconnect_delay_set(min_delay=min_delay_s, max_delay=max_delay_s)
        if self.tls or ca:
            try:
                c.tls_set(ca_certs=ca, certfile=cert, keyfile=key, cert_reqs=ssl.CERT_REQUIRED)
            except (OSError, ssl.SSLError) as e:
                raise UplinkError("TLS files (ca %s, cert %s, key %s): %s" % (ca, cert, key, e)) from None
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        self.client = c
        self.started = False

    def start(self):
        p = Properties(PacketTypes.CONNECT)
        p.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive, clean_start=False,
                                  properties=p)
        self.client.loop_start()        # connects, and reconnects with backoff, on its thread
        self.started = True

    def stop(self):
        if self.started:
            self.started = False
            try:
                self.client.disconnect()
            finally:
                self.client.loop_stop()

    # paho's thread
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.last_error = "connect refused: %s" % reason_code
            return
        self.connected = True
        self.connects += 1

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if self.connected:
            self.disconnects += 1
        self.connected = False
        self.last_error = "disconnected: %s" % reason_code

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        (self._nacks if reason_code.is_failure else self._acks).append(mid)

    # the loop's thread
    def publish(self, topic, payload):
        """Queue one QoS 1 PUBLISH; its mid, or None if paho refused it now."""
        if not self.connected:
            return None
        info = self.client.publish(topic, payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            return None
        return info.mid                 # NO_CONN: queued by paho, sent after the reconnect

    def take_acks(self):
        return _take(self._acks)

    def take_nacks(self):
        return _take(self._nacks)


def _take(q):
    out = []
    while q:
        out.append(q.popleft())
    return out
