import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseMac, loadMacPrefixes, MacPrefixes } from '../../daemon/src/config/mac';
import { parseIp } from '../../daemon/src/wire/address';

const SMALL = MacPrefixes.parse(`# comment
00000C Cisco Systems
00065B Dell
000874 Dell
000BDB Dell
001C23 Dell EMC
00D0B7 Intel
00AA00 Intel Corporate
AC1F6B Super Micro Computer
010000 Multicast Vendor
00C0B7 American Power Conversion
001560 Hewlett Packard
00E018 Asustek Computer
0011D8 Vanderlande APC
`);

const ouiOf = (mac: Buffer): number => mac.readUIntBE(0, 3);

test('mac_prefixes_parse_and_vendor_of', () => {
  assert.equal(SMALL.vendorOf(0x00000c), 'Cisco Systems');
  assert.equal(SMALL.vendorOf(0x123456), undefined);
});

test('mac_vendor_lookup_is_word_based_and_case_insensitive', () => {
  assert.deepEqual(SMALL.findVendor('dell'), { vendors: ['Dell'], ouis: [0x00065b, 0x000874, 0x000bdb] });
  assert.deepEqual(SMALL.findVendor('Dell EMC').ouis, [0x001c23]);
  assert.deepEqual(SMALL.findVendor('CISCO').ouis, [0x00000c]);
  // A word may be the start of a vendor word, ranked below whole words.
  assert.deepEqual(SMALL.findVendor('Asus').ouis, [0x00e018]);
  assert.deepEqual(SMALL.findVendor('Intel').vendors, ['Intel']);
  assert.deepEqual(SMALL.findVendor('Nobody Inc').ouis, []);
  // Multicast first octets are never offered.
  assert.deepEqual(SMALL.findVendor('Multicast Vendor').ouis, []);
});

test('mac_explicit_address_is_used_as_given', () => {
  assert.equal(chooseMac('00:11:22:33:44:55', 'Cisco', parseIp('198.51.100.1'), SMALL).toString('hex'), '001122334455');
  assert.equal(chooseMac('00-11-22-AA-bb-cc', undefined, 1, SMALL).toString('hex'), '001122aabbcc');
  assert.throws(() => chooseMac('01:00:5e:00:00:01', undefined, 1, SMALL), /multicast/);
  assert.throws(() => chooseMac('Nobody Inc', undefined, 1, SMALL), /unknown ethernet vendor "Nobody Inc"/);
});

test('mac_vendor_name_gives_that_vendors_oui', () => {
  for (let i = 0; i < 64; i++) {
    const mac = chooseMac('Dell', 'Cisco', parseIp('198.51.100.0') + i, SMALL);
    assert.ok([0x00065b, 0x000874, 0x000bdb].includes(ouiOf(mac)));
  }
});

test('mac_os_vendor_chooses_a_fitting_oui', () => {
  const ip = parseIp('198.51.100.20');
  assert.equal(ouiOf(chooseMac(undefined, 'Cisco', ip, SMALL)), 0x00000c);
  assert.equal(SMALL.vendorOf(ouiOf(chooseMac(undefined, 'HP', ip, SMALL))), 'Hewlett Packard');
  assert.equal(ouiOf(chooseMac(undefined, 'APC', ip, SMALL)), 0x00c0b7);
  // Microsoft makes no NICs here: a PC maker's OUI, never Cisco's.
  const pcMakers = new Set<string>();
  for (let i = 0; i < 256; i++) {
    const vendor = SMALL.vendorOf(ouiOf(chooseMac(undefined, 'Microsoft', ip + i, SMALL)));
    assert.ok(vendor === 'Dell' || vendor === 'Intel Corporate' || vendor === 'Hewlett Packard', vendor);
    pcMakers.add(vendor);
  }
  assert.equal(pcMakers.size, 3, 'a population spreads over several makers');
  // Unknown OS vendor and no OS vendor fall back to a generic NIC maker.
  // "Vanderlande APC" shares a word with "Obscure APC" but not all of them.
  for (const os of ['Obscure Embedded', 'Obscure APC', undefined]) {
    const vendor = SMALL.vendorOf(ouiOf(chooseMac(undefined, os, ip, SMALL)));
    assert.ok(vendor === 'Dell' || vendor === 'Intel Corporate', vendor);
  }
});

test('mac_host_bytes_are_stable_unique_and_not_the_address', () => {
  const base = parseIp('198.51.100.0');
  const seen = new Set<string>();
  for (let i = 0; i < 4096; i++) {
    const ip = base + i;
    const mac = chooseMac('Dell', undefined, ip, SMALL);
    assert.deepEqual(chooseMac('Dell', undefined, ip, SMALL), mac, 'stable');
    assert.equal(mac[0] & 0x03, 0, 'unicast, globally administered');
    assert.notEqual(mac.readUIntBE(3, 3), ip & 0xffffff, 'not the plain address');
    seen.add(mac.subarray(3).toString('hex'));
  }
  assert.equal(seen.size, 4096, 'no two addresses in one /8 share host bytes');
  // A deployment seed changes the MACs.
  assert.notDeepEqual(chooseMac('Dell', undefined, base, SMALL, 1), chooseMac('Dell', undefined, base, SMALL, 2));
});

test('mac_real_nmap_table_finds_the_common_vendors', () => {
  const table = loadMacPrefixes('/usr/share/nmap/nmap-mac-prefixes');
  assert.ok(table.size > 30000);
  for (const [os, expected] of [
    ['Apple', /^Apple$/],
    ['Cisco', /^Cisco Systems$/],
    ['HP', /^(Hewlett Packard|HP)$/],
    ['Microsoft', /^(Dell|Intel Corporate|Hewlett Packard|Lenovo)$/],
    ['Linux', /^(Intel Corporate|Dell|Super Micro Computer|Hewlett Packard)$/],
    ['Brother', /^Brother/i],
    ['Juniper', /^Juniper Networks$/],
  ] as const) {
    const vendor = table.vendorOf(ouiOf(chooseMac(undefined, os, parseIp('198.51.100.77'), table)));
    assert.match(vendor ?? '', expected, os);
  }
  assert.equal(table.vendorOf(ouiOf(chooseMac('Dell', undefined, 1, table))), 'Dell');
});
